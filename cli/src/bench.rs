//! `forkexec bench`: spawn+wait benchmark.

use clap::Args;

#[derive(Args, Debug)]
pub struct BenchArgs {}

pub fn run(_a: BenchArgs) -> i32 {
    eprintln!("forkexec bench: not built yet");
    2
}
