#![no_main]
//! See fuzz/src/lib.rs: `forkexec_fuzz::elf_file` and what it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| forkexec_fuzz::elf_file(data));
