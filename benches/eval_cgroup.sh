#!/usr/bin/env bash
# Proves that eval, reduce (whole-array and along an axis) and stats over a file 8× the --mem
# budget stay under the budget: each runs inside a memory cgroup (v1 or v2) limited to the
# budget plus a small margin for the binary, and its peak resident anonymous memory must stay
# under the budget. Results are checked.
#
#   benches/eval_cgroup.sh [BUDGET_MIB] [DIR]
#
# Needs permission to create a memory cgroup (root); prints "skipped" and exits 0 otherwise.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
cg_budget "${1:-32}"
cg_workdir eval-cgroup "${2:-}"
cg_build
n=$budget                      # float64 elements: 8 bytes each, 8× the budget
file="$dir/x.npy"
"$bin" gen "$file" --dtype f8 --shape "$n" --fill arange --quiet --force
echo "input: $(du -h "$file" | cut -f1) = 8x the ${budget_mib} MiB budget; cgroup limit = budget + 16 MiB"

fail=0
run() {
  local what=$1; shift
  cg_measure "$@"
  cg_verdict "$(grep -v '^peak\|^exit' "$dir/err" | head -2)"
  [ "$verdict" = ok ] || fail=1
  printf '%-34s exit=%-3s peak RssAnon=%6.1f MiB (budget %d MiB)  %s\n' "$what" "$status" \
    "$(cg_mib "$peak")" "$budget_mib" "$verdict"
}
check() { # check NAME GOT WANT
  if [ "$2" != "$3" ]; then echo "wrong $1: got $2, want $3"; fail=1; fi
}
mem=(--mem "${budget_mib}M" --quiet)

run "eval 2*x+1 (8x budget in, 8x out)" "$bin" eval '2*x+1' -o "$dir/y.npy" "x=$file" "${mem[@]}"
run "reduce sum of the eval output" "$bin" reduce sum "$dir/y.npy" --json "${mem[@]}"
# sum(2i+1, i<n) = n^2, exact in float64 for n up to 2^26.
check "sum of 2*x+1" "$(echo "$out" | sed 's/.*"value"://; s/}//')" "$(python3 -c "print(float($n*$n))")"
run "reduce sum" "$bin" reduce sum "$file" --json "${mem[@]}"
check "sum" "$(echo "$out" | sed 's/.*"value"://; s/}//')" "$(python3 -c "print(float($n*($n-1)//2))")"
run "reduce argmax" "$bin" reduce argmax "$file" --json "${mem[@]}"
check "argmax" "$(echo "$out" | sed 's/.*"value"://; s/}//')" "$((n - 1))"
run "stats" "$bin" stats "$file" --json "${mem[@]}"
echo "$out" | grep -q "\"count\":$n," || { echo "wrong stats: $out"; fail=1; }
rows=$((n / 1024))
"$bin" gen "$dir/m.npy" --dtype f8 --shape "$rows,1024" --fill arange --quiet --force
run "reduce mean --axis 1 (-o)" "$bin" reduce mean "$dir/m.npy" --axis 1 -o "$dir/r1.npy" "${mem[@]}"
run "reduce max --axis 0" "$bin" reduce max "$dir/m.npy" --axis 0 -o "$dir/r0.npy" "${mem[@]}"
exit $fail
