#!/usr/bin/env bash
# Runs every ```sh block of the README, each in a fresh empty directory with `outcore` on PATH,
# and fails on the first command that fails. A block preceded by a `<!-- not run ... -->` line
# is skipped (installing, the whole test suite). Blocks of other languages are not run.
#
#   scripts/readme-examples.sh [README.md]
#
# The binary: $OUTCORE, else target/release/outcore, else target/debug/outcore, else the
# `outcore` already on PATH. tests/readme.rs runs this script from `cargo test`.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
readme="${1:-$repo/README.md}"

bin_dir="$(mktemp -d "${TMPDIR:-/tmp}/outcore-readme-bin.XXXXXX")"
work=""
cleanup() { rm -rf "$bin_dir" ${work:+"$work"}; }
trap cleanup EXIT

binary="${OUTCORE:-}"
if [[ -z "$binary" ]]; then
  for candidate in "$repo/target/release/outcore" "$repo/target/debug/outcore"; do
    if [[ -x "$candidate" ]]; then binary="$candidate"; break; fi
  done
fi
if [[ -z "$binary" ]]; then
  binary="$(command -v outcore || true)"
fi
if [[ -z "$binary" || ! -x "$binary" ]]; then
  echo "readme-examples: no outcore binary: set OUTCORE, or run cargo build --release" >&2
  exit 2
fi
ln -s "$(realpath "$binary")" "$bin_dir/outcore"
export PATH="$bin_dir:$PATH"

# Splits the README into blocks: block_N.sh files, with the README line each starts at.
blocks="$bin_dir/blocks"
mkdir "$blocks"
awk -v dir="$blocks" '
  /^<!-- not run/ { skip = 1; next }
  in_block && /^```/ { in_block = 0; close(file); next }
  in_block { print > file; next }
  /^```sh[[:space:]]*$/ {
    if (skip) { skip = 0; in_skip = 1; next }
    n++; file = sprintf("%s/block_%03d.sh", dir, n); in_block = 1
    printf "%d\n", NR > (file ".line"); close(file ".line"); next
  }
  /^```/ && in_skip { in_skip = 0; next }
  /[^[:space:]]/ { skip = 0 }
' "$readme"

count=0
for block in "$blocks"/block_*.sh; do
  [[ -e "$block" ]] || break
  count=$((count + 1))
  line="$(cat "$block.line")"
  work="$(mktemp -d "${TMPDIR:-/tmp}/outcore-readme.XXXXXX")"
  log="$work/.output"
  # -e: stop at the first failing command; the ERR trap names it.
  if ! (cd "$work" && bash -euo pipefail -c \
      'trap '\''echo "FAILED (exit $?): $BASH_COMMAND" >&2'\'' ERR; '"$(cat "$block")" \
      >"$log" 2>&1); then
    echo "readme-examples: the sh block at $readme:$line failed:" >&2
    sed 's/^/  | /' "$block" >&2
    echo "output:" >&2
    sed 's/^/  > /' "$log" >&2
    exit 1
  fi
  echo "ok: block at line $line ($(wc -l <"$block") commands)"
  rm -rf "$work"
  work=""
done
if [[ "$count" -eq 0 ]]; then
  echo "readme-examples: no sh blocks found in $readme" >&2
  exit 1
fi
echo "readme-examples: all $count blocks ran"
