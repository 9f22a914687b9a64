#!/usr/bin/env bash
# Proves outcore's out-of-core claim: jobs over a file at least 8× the --mem budget finish
# inside a memory cgroup whose limit is the budget plus a small margin, with a peak resident
# anonymous memory under the budget, and correct results.
#
#   scripts/prove-out-of-core.sh [BUDGET_MIB] [DIR]
#
# Needs root (to create the cgroup); prints "skipped" and exits 0 where that is not permitted.
set -euo pipefail
budget_mib=${1:-32}
dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/outcore-proof-XXXXXX")}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bin="$here/target/release/outcore"
budget=$((budget_mib * 1024 * 1024))
margin=$((16 * 1024 * 1024))   # the binary, thread stacks, allocator slack
n=$((budget * 8 / 8))          # float64 elements: 8× the budget in bytes
file="$dir/big.npy"
trap 'rm -rf "$dir"' EXIT
"$bin" gen "$file" --dtype f8 --shape "$n" --fill arange --quiet
echo "file: $(du -h "$file" | cut -f1) = 8x the ${budget_mib} MiB budget; cgroup limit = budget + 16 MiB"

fail=0
run() {
  local what=$1; shift
  set +e
  out=$("$here/scripts/under-cgroup.sh" $((budget + margin)) "$@" 2>"$dir/err")
  status=$?
  set -e
  if [ $status -eq 77 ]; then cat "$dir/err"; echo "skipped"; exit 0; fi
  peak=$(sed -n 's/^peak_rss_anon_bytes=//p' "$dir/err")
  verdict=ok
  if [ $status -ne 0 ]; then verdict="FAILED (exit $status)"; fail=1; fi
  if [ "${peak:-0}" -gt "$budget" ]; then verdict="FAILED (anon over budget)"; fail=1; fi
  printf '%-28s exit=%-3s peak RssAnon=%6.1f MiB (budget %d MiB)  %s\n' "$what" "$status" \
    "$(echo "${peak:-0} / 1048576" | bc -l)" "$budget_mib" "$verdict"
}

run "reduce sum" "$bin" reduce sum "$file" --json --mem "${budget_mib}M" --quiet
expected=$(python3 -c "n=$n; print(float(n*(n-1)//2))" 2>/dev/null || echo "")
if [ -n "$expected" ] && ! echo "$out" | grep -q "\"value\":${expected%.0}"; then
  echo "wrong sum: $out (expected $expected)"; fail=1
fi
run "reduce max" "$bin" reduce max "$file" --json --mem "${budget_mib}M" --quiet
echo "$out" | grep -q "\"value\":$((n - 1))" || { echo "wrong max: $out"; fail=1; }
run "gen (8x budget)" "$bin" gen "$dir/g.npy" --dtype f8 --shape "$n" --fill normal --mem "${budget_mib}M" --quiet
exit $fail
