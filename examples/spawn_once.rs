//! Spawns a program N times and waits (for strace/perf looks at one spawn's syscalls).
fn main() {
    let mut args = std::env::args_os().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.to_str()?.parse().ok())
        .unwrap_or(1);
    let prog = args.next().unwrap_or_else(|| "/bin/true".into());
    let mut cmd = forkexec::Command::new(prog);
    for _ in 0..n {
        cmd.status().expect("spawn");
    }
}
