#!/usr/bin/env bash
# All the project's checks, in order: formatting, lints, docs, then every test of the
# workspace. This is the README's "run all the tests" command, and what CI runs (.ci/run,
# after installing NumPy).
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
