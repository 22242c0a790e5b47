//! Fds known only by number: inherited at start-up or named on a command line (`--fd 3=5`).
//!
//! Borrowing a raw fd number is what IO safety calls unsafe (the number might be closed and
//! reused meanwhile); these functions borrow it only for the duration of one syscall, which
//! fails cleanly (EBADF) when the number is not open.

pub use crate::sys::inherited::{dup_inherited, is_open, is_terminal};
