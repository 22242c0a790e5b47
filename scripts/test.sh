#!/usr/bin/env bash
# The project's test command (README): formatting, lints, docs, and every test in the workspace.
# Long modes of the stress tests are behind FORKEXEC_STRESS_LONG=1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
cargo test --workspace --release
