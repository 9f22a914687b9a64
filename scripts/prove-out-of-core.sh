#!/usr/bin/env bash
# Proves outcore's out-of-core claim: jobs over a file at least 8× the --mem budget finish
# inside a memory cgroup whose limit is the budget plus a small margin, with a peak resident
# anonymous memory under the budget, and correct results.
#
#   scripts/prove-out-of-core.sh [BUDGET_MIB] [DIR]
#
# Needs root (to create the cgroup); prints "skipped" and exits 0 where that is not permitted.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
cg_budget "${1:-32}"
cg_workdir proof "${2:-}"
cg_build
n=$((budget * 8 / 8))          # float64 elements: 8× the budget in bytes
file="$dir/big.npy"
"$bin" gen "$file" --dtype f8 --shape "$n" --fill arange --quiet
echo "file: $(du -h "$file" | cut -f1) = 8x the ${budget_mib} MiB budget; cgroup limit = budget + 16 MiB"

fail=0
run() {
  local what=$1; shift
  cg_measure "$@"
  cg_verdict
  [ "$verdict" = ok ] || fail=1
  printf '%-28s exit=%-3s peak RssAnon=%6.1f MiB (budget %d MiB)  %s\n' "$what" "$status" \
    "$(cg_mib "$peak")" "$budget_mib" "$verdict"
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
