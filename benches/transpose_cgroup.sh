#!/usr/bin/env bash
# Proves the out-of-core transpose: a float64 matrix 8x the --mem budget is transposed inside
# a memory cgroup whose limit is the budget plus a small margin (v1 at
# /sys/fs/cgroup/memory/<name>, or v2), with a peak resident anonymous memory under the
# budget, and the result is checked against NumPy block by block (when NumPy is installed).
#
#   benches/transpose_cgroup.sh [BUDGET_MIB] [DIR]
#
# The matrix's sides are odd (not multiples of any tile, page or chunk). Needs root for the
# cgroup; prints "skipped" and exits 0 where that is not permitted.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
cg_budget "${1:-64}"
cg_workdir transpose "${2:-}"
cg_build
# rows x cols float64 >= 8 x budget bytes, both sides odd.
side=$(python3 -c "import math; print(math.isqrt($budget) + 1)" 2>/dev/null || echo $(( $(awk "BEGIN{print int(sqrt($budget))}") + 1 )))
rows=$((side + 3 - side % 2))
cols=$((side + 7 - side % 2))
file="$dir/m.npy"
dest="$dir/t.npy"
"$bin" gen "$file" --dtype f8 --shape "$rows,$cols" --fill random --seed 3 --quiet
echo "matrix: ${rows}x${cols} float64 = $(du -h "$file" | cut -f1), 8x the ${budget_mib} MiB budget; cgroup limit = budget + 16 MiB"

cg_measure "$bin" --mem "${budget_mib}M" --quiet transpose "$file" -o "$dest"
if [ -n "$out" ]; then echo "$out"; fi
cg_verdict
if [ $status -ne 0 ]; then cat "$dir/err"; fi
printf 'transpose %dx%d: exit=%s in %.1f s, peak RssAnon=%.1f MiB (budget %d MiB)  %s\n' "$rows" "$cols" \
  "$status" "$secs" "$(cg_mib "$peak")" "$budget_mib" "$verdict"
[ "$verdict" = ok ] || exit 1

if python3 -c "import numpy" 2>/dev/null; then
  python3 - "$file" "$dest" <<'PY'
import sys
import numpy as np
a = np.load(sys.argv[1], mmap_mode='r')
t = np.load(sys.argv[2], mmap_mode='r')
assert t.shape == a.shape[::-1] and t.dtype == a.dtype, (t.shape, t.dtype)
step = 1024
for i in range(0, a.shape[0], step):
    assert np.array_equal(t[:, i:i + step], a[i:i + step].T), "rows %d.." % i
print("result: equal to NumPy's a.T")
PY
else
  echo "result: not checked (numpy not available)"
fi
