//! Start-up cost, structurally (the figure itself is measured with hyperfine, README): the
//! running forkexec has not loaded libgcc_s, whose constructor runs a dozen cpuid instructions
//! that trap to the hypervisor in a VM. The unwinder is linked in statically (cli/build.rs).

mod cli_support;
use cli_support::{text, BIN};

#[test]
fn a_running_forkexec_maps_no_libgcc_s() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        println!("SKIP: libgcc_s is linked statically only for linux-gnu");
        return;
    }
    // The program reads its parent's mappings: forkexec's, while it waits.
    let out = std::process::Command::new(BIN)
        .args(["run", "--", "sh", "-c", "cat /proc/$PPID/maps"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let maps = text(&out.stdout);
    assert!(maps.contains("libc.so"), "not forkexec's mappings? {maps}");
    assert!(!maps.contains("libgcc_s"), "{maps}");
}
