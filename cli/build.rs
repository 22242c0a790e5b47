// Builds the benchmark's C floors (bare vfork + execve, and forkexec's system calls);
// see src/bench/floor.c.
fn main() {
    println!("cargo:rerun-if-changed=src/bench/floor.c");
    cc::Build::new()
        .file("src/bench/floor.c")
        .opt_level(2)
        .compile("forkexec_bench_floor");
}
