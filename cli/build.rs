// Builds the benchmark's C floor (raw vfork + execve); see src/bench/floor.c.
fn main() {
    println!("cargo:rerun-if-changed=src/bench/floor.c");
    cc::Build::new()
        .file("src/bench/floor.c")
        .opt_level(2)
        .compile("forkexec_bench_floor");
}
