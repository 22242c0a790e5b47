//! Finds out which std APIs newer than the crate's rust-version this compiler has, so that the
//! conversions into them are compiled where they exist and left out elsewhere.

fn main() {
    let probe = autocfg::new();
    // io::PipeReader / io::PipeWriter: Rust 1.87 (`impl From<...> for Stdio`). Also declares
    // the cfg to rustc (check-cfg), so it is known even where it is not set.
    probe.emit_path_cfg("std::io::PipeReader", "has_io_pipe");
    println!("cargo:rerun-if-changed=build.rs");
}
