// Builds the benchmark's C floors (bare vfork + execve, and forkexec's system calls);
// see src/bench/floor.c.
//
// And links the unwinder statically (libgcc_eh, what gcc's -static-libgcc does for C), so the
// dynamic loader does not load libgcc_s.so at every start: its constructor
// (__cpu_indicator_init) runs a dozen cpuid instructions, which trap to the hypervisor in a VM
// (13 us each on the project's machine): `forkexec run -- true` took ~180 us (7%) longer with
// it. Placed before std's `-lgcc_s` and linked whole, libgcc_eh defines every _Unwind_*
// symbol first, and --as-needed then drops libgcc_s; panics still unwind and print backtraces.
fn main() {
    println!("cargo:rerun-if-changed=src/bench/floor.c");
    cc::Build::new()
        .file("src/bench/floor.c")
        .opt_level(2)
        .compile("forkexec_bench_floor");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let static_crt = std::env::var("CARGO_CFG_TARGET_FEATURE")
        .unwrap_or_default()
        .split(',')
        .any(|f| f == "crt-static");
    if os == "linux" && env == "gnu" && !static_crt {
        println!("cargo:rustc-link-lib=static:+whole-archive=gcc_eh");
    }
}
