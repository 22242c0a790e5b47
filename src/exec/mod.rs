//! The exec family: execve, execv, execvp, execvpe, fexecve, execveat and the list forms,
//! with glibc's exact PATH-search semantics, built on a prepared form that does not allocate.

pub mod prepared;
pub mod search;
pub mod vectors;

pub use prepared::{Envp, ExecTarget, PreparedExec, ShellFallback};
pub use search::{Candidates, SearchRules};
pub use vectors::CStringArray;
