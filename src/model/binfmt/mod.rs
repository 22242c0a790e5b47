//! The binary formats the kernel recognises from a file's first 256 bytes: ELF, `#!` scripts,
//! a.out (recognised only: this kernel has no loader for it) and binfmt_misc handlers.

pub mod aout;
pub mod elf;
pub mod misc;
pub mod script;

pub use script::BINPRM_BUF_SIZE;
