//! The fuzz targets on stable Rust, in every `cargo test`: the committed seeds
//! (`fuzz/seeds/<target>/`, plus a local `fuzz/corpus/<target>/` if a fuzz run made one) are
//! replayed through the same bodies the cargo-fuzz binaries run (`fuzz/src/lib.rs`), then a
//! short seeded mutation loop runs on them. Long runs use cargo-fuzz (README, "Fuzzing").
//!
//! Breaks on: a panic, an out-of-bounds slice, an arithmetic overflow (the test profile checks
//! overflow in debug builds), a violated invariant asserted in the bodies, or a read request
//! larger than the kernel would make (a header field driving an allocation).

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod bodies;
mod support;

use std::path::{Path, PathBuf};

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 5] = [
    ("shebang", bodies::shebang),
    ("elf", bodies::elf_file),
    ("formats", bodies::formats_and_limits),
    ("planner", bodies::planner),
    ("load", bodies::load_plan),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in ["seeds", "corpus"] {
        let d = fuzz_dir().join(dir).join(target);
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                out.push((e.path(), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// Runs `body` on `data`; on a panic, saves the input for `cargo fuzz run <target> <file>`.
fn run_one(target: &str, body: Body, data: &[u8], origin: &str) {
    if std::panic::catch_unwind(|| body(data)).is_err() {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let file = dir.join(format!("fuzz-replay-{target}-crash.bin"));
        std::fs::write(&file, data).unwrap();
        panic!(
            "{target}: input from {origin} panicked; saved to {}",
            file.display()
        );
    }
}

#[test]
fn committed_seeds_are_the_generated_ones() {
    let write = std::env::var_os("FORKEXEC_WRITE_SEEDS").is_some();
    for (target, name, bytes) in bodies::seeds() {
        let path = fuzz_dir().join("seeds").join(target).join(&name);
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        assert_eq!(
            std::fs::read(&path).ok().as_deref(),
            Some(bytes.as_slice()),
            "{} differs from bodies::seeds() (regenerate: FORKEXEC_WRITE_SEEDS=1 cargo test --test fuzz_replay)",
            path.display()
        );
    }
}

#[test]
fn corpus_replays_cleanly() {
    for (target, body) in TARGETS {
        let files = inputs(target);
        assert!(!files.is_empty(), "no seeds for {target}");
        for (path, data) in files {
            run_one(target, body, &data, &path.display().to_string());
        }
    }
}

/// A few thousand mutations per target, seeded (FORKEXEC_FUZZ_SEED) and reproducible;
/// FORKEXEC_FUZZ_ITERS sets the count per target.
#[test]
fn short_mutation_run() {
    let iters: usize = std::env::var("FORKEXEC_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let seed: u64 = std::env::var("FORKEXEC_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    let interesting: [u64; 8] = [0, 1, 0x7f, 0x80, 0xff, 0xffff, 0xffff_ffff, u64::MAX];
    for (target, body) in TARGETS {
        let pool: Vec<Vec<u8>> = inputs(target).into_iter().map(|(_, d)| d).collect();
        let mut rng = support::Rng::new(seed ^ target.len() as u64);
        for i in 0..iters {
            let mut d = pool[rng.range(0, pool.len() as u64) as usize].clone();
            for _ in 0..rng.range(1, 9) {
                let len = d.len() as u64;
                match rng.range(0, 6) {
                    0 if len > 0 => {
                        let k = rng.range(0, len) as usize;
                        d[k] ^= 1 << rng.range(0, 8);
                    }
                    1 => {
                        let k = rng.range(0, len + 1) as usize;
                        d.insert(k, rng.next() as u8);
                    }
                    2 if len > 0 => {
                        let k = rng.range(0, len) as usize;
                        let n = rng.range(1, 17).min(len - k as u64) as usize;
                        d.drain(k..k + n);
                    }
                    3 if len >= 8 => {
                        // An interesting value over 1, 2, 4 or 8 bytes: header fields.
                        let w = [1usize, 2, 4, 8][rng.range(0, 4) as usize];
                        let k = rng.range(0, len - w as u64 + 1) as usize;
                        let v = interesting[rng.range(0, 8) as usize].to_le_bytes();
                        d[k..k + w].copy_from_slice(&v[..w]);
                    }
                    4 => {
                        // Splice a piece of another input.
                        let other = &pool[rng.range(0, pool.len() as u64) as usize];
                        if !other.is_empty() {
                            let a = rng.range(0, other.len() as u64) as usize;
                            let b = rng.range(a as u64, other.len() as u64 + 1) as usize;
                            let k = rng.range(0, len + 1) as usize;
                            d.splice(k..k, other[a..b].iter().copied());
                        }
                    }
                    _ if len > 0 => {
                        let k = rng.range(0, len) as usize;
                        d[k] = rng.next() as u8;
                    }
                    _ => {}
                }
            }
            run_one(target, body, &d, &format!("mutation {i} (seed {seed})"));
        }
    }
}

/// The planner seeds reach the paths they were written for (so the fuzzer starts deep in the
/// planner, not at "file not found").
#[test]
fn planner_seeds_reach_their_intended_outcomes() {
    use forkexec::model::plan::{evaluate, evaluate_search, Outcome};
    for (target, name, bytes) in bodies::seeds() {
        if target != "planner" {
            continue;
        }
        let (input, fs, search) = bodies::plan_input(&bytes);
        let p = if search {
            evaluate_search(&input, Some(b"/bin:/x"), &fs)
        } else {
            evaluate(&input, &fs)
        };
        println!("{name}: {}", forkexec::explain::verdict(&p));
        let errno = |e: i32| Outcome::Fails(forkexec::Errno(e));
        let want = match name.as_str() {
            "script-loop" => errno(libc::ELOOP),
            "busy-and-tiny-stack" => errno(libc::ETXTBSY),
            "misc-o-then-script" => errno(libc::ENOEXEC),
            "truncated-bss" => Outcome::Killed(forkexec::model::plan::SIGSEGV),
            _ => Outcome::Runs,
        };
        assert_eq!(
            p.outcome,
            want,
            "{name}: {}",
            forkexec::explain::verdict(&p)
        );
    }
}
