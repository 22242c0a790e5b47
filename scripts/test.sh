#!/usr/bin/env bash
# The project's test command (README): formatting, lints, docs, and every test in the workspace.
# Long modes of the stress tests are behind FORKEXEC_STRESS_LONG=1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
cargo test --workspace --release
# std-style code must compile as a user's crate gets forkexec: without the CLI's `json` feature,
# which `--workspace` turns on (serde_json's PartialEq impls change type inference).
cargo test --release -p forkexec --test std_drop_in
