#!/usr/bin/env bash
# The project's test command (README): formatting, lints, docs, every test in the workspace,
# then the spawn suites again under each emulated kernel (3.10, 4.18, 5.4, an old Docker
# sandbox). Long modes of the stress tests are behind FORKEXEC_STRESS_LONG=1.
set -euo pipefail
cd "$(dirname "$0")/.."

# qemu-user for the qemu smoke tests (cli/tests/qemu_user.rs), from Debian's packages when
# missing and we may install (root with apt-get, as in CI); without it those tests SKIP.
if ! command -v qemu-x86_64 >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing qemu-user (for the qemu-x86_64 smoke tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user >/dev/null \
    || echo "note: could not install qemu-user; the qemu smoke tests will SKIP"
fi

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --quiet
cargo test --workspace --release
# std-style code must compile as a user's crate gets forkexec: without the CLI's `json` feature,
# which `--workspace` turns on (serde_json's PartialEq impls change type inference).
cargo test --release -p forkexec --test std_drop_in
# The README's first command, as a new user types it.
test "$(cargo run -q --release -- run -- echo hello)" = hello

# The same spawn, attribute, fd, user-namespace, fault and stress suites with the kernel
# answering like an older one (emulate/: seccomp profiles; x86-64 syscall numbers), run through
# the forkexec-emulate launcher as cargo's test runner.
if [ "$(uname -m)" = x86_64 ]; then
  cargo build --release -p forkexec-emulate
  suites=()
  for t in spawn compat attr_cgroup attr_credentials attr_fds attr_limits attr_namespaces \
           attr_security attr_session attr_signals attr_validation faults privileges props \
           env_churn stress std_process exec_and_pre_exec supervisor run_attrs async_tokio; do
    suites+=(--test "$t")
  done
  for profile in 3.10 4.18 5.4 docker; do
    echo "== the spawn suites under the $profile kernel profile"
    CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/target/release/forkexec-emulate $profile --" \
      cargo test --release --workspace "${suites[@]}"
  done
fi
