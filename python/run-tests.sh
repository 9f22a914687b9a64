#!/usr/bin/env bash
# Builds and installs the Python package from this checkout (`pip install ./python`), then
# runs its pytest suite (which includes the docstring examples). Exits non-zero on failure.
#
#   python/run-tests.sh [pytest args…]       PYTHON=python3.12 python/run-tests.sh
#
# The Rust crates are compiled in release mode into the repository's target/ (shared with
# cargo), so a second run only rebuilds what changed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
python="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"

pip_install=("$python" -m pip install --disable-pip-version-check)
# maturin already installed: build with it rather than fetching it into an isolated env.
if "$python" -c 'import maturin' 2>/dev/null; then
    pip_install+=(--no-build-isolation)
fi
"${pip_install[@]}" --force-reinstall --no-deps "$here"
"$python" -c 'import numpy, pytest' 2>/dev/null || "$python" -m pip install numpy pytest
# outcore.dask's tests need dask[distributed] (the package's `dask` extra). CI installs it, and
# a CI run without it fails; elsewhere its tests are skipped with the reason printed.
if [ "${CI:-}" = "true" ] && ! "$python" -c 'import dask, distributed' 2>/dev/null; then
    "$python" -m pip install --disable-pip-version-check "dask[distributed]"
fi

# Run from an empty directory so that `import outcore` is the installed package, not the
# source tree in python/outcore (which has no compiled extension).
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$python" -m pytest -q -rs -p no:cacheprovider "$here/tests" "$@"
