#!/usr/bin/env bash
# All the project's checks, in order: formatting, lints, docs, every Rust test of the
# workspace, the examples, the library without the CLI, then the Python package's tests.
# This is the README's "run all the tests" command, and what CI runs (.ci/run, after
# installing NumPy).
#
# Tests that compare with NumPy need `python3` with `numpy`. Where it is missing they are
# skipped, each printing "SKIPPED <test>: NumPy is not installed" in the output; with CI=true
# (as .ci/run sets) they fail instead, so a CI run without NumPy cannot pass.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps
cargo test --workspace

# The embedding examples run (each checks its own results and cleans up).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for example in embed quickstart user_kernel; do
  cargo run --quiet --example "$example" -- "$scratch"
done

# The library alone (`default-features = false`) pulls in none of the CLI's crates.
cli_crates='^(clap|indicatif|anyhow|serde_json|signal-hook) '
if cargo tree -p outcore --no-default-features -e normal --prefix none | grep -Eq "$cli_crates"; then
  echo "error: outcore without its default features depends on CLI crates:" >&2
  cargo tree -p outcore --no-default-features -e normal --prefix none | grep -E "$cli_crates" >&2
  exit 1
fi
echo "ok: outcore with default-features = false has no CLI crates"

# The Python package: built and installed with pip, then its pytest suite.
python/run-tests.sh
