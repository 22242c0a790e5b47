#![no_main]
//! See fuzz/src/lib.rs: `forkexec_fuzz::load_plan` and what it checks.
libfuzzer_sys::fuzz_target!(|data: &[u8]| forkexec_fuzz::load_plan(data));
