#!/usr/bin/env bash
# Proves the out-of-core take: a random permutation of a float64 array 8x the --mem budget is
# gathered (`outcore take`, the bucketed gather) inside a memory cgroup whose limit is the
# budget plus a small margin, with a peak resident anonymous memory under the budget; the
# result is checked against NumPy chunk by chunk, and NumPy's own np.take of the same files,
# under the same limit, is shown to be killed.
#
#   benches/take_cgroup.sh [BUDGET_MIB=64] [DIR]
#
# The index is the `outcore argsort` of the random data (a random permutation, made outside
# the cgroup). Needs root for the cgroup; prints "skipped" and exits 0 where that is not
# permitted.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
cg_budget "${1:-64}"
cg_workdir take "${2:-}"
cg_build --bin outcore
n=$((budget * 8 / 8))           # float64 elements: 8x the budget in bytes
file="$dir/a.npy"
index="$dir/perm.npy"
dest="$dir/t.npy"
"$bin" gen "$file" --dtype f8 --shape "$n" --fill random --seed 5 --quiet
"$bin" argsort "$file" -o "$index" --quiet
echo "data: $(du -h "$file" | cut -f1) float64 = 8x the ${budget_mib} MiB budget; index: a random permutation ($(du -h "$index" | cut -f1) int64); cgroup limit = budget + 16 MiB"

cg_measure "$bin" --mem "${budget_mib}M" --quiet take "$file" "$index" -o "$dest"
cg_verdict
if [ "$status" -ne 0 ]; then cat "$dir/err"; fi
printf 'outcore take: exit=%s in %.1f s, peak RssAnon=%.1f MiB (budget %d MiB)  %s\n' \
  "$status" "$secs" "$(cg_mib "$peak")" "$budget_mib" "$verdict"
[ "$verdict" = ok ] || exit 1
leftover=$(find "$dir" -mindepth 1 -not -name a.npy -not -name perm.npy -not -name t.npy -not -name err | wc -l)
if [ "$leftover" != 0 ]; then echo "FAILED: temporary files left in $dir"; exit 1; fi

if ! python3 -c "import numpy" 2>/dev/null; then
  echo "result: not checked (numpy not available)"
  exit 0
fi
python3 - "$file" "$index" "$dest" <<'PY'
import sys
import numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
idx = np.load(sys.argv[2], mmap_mode="r")
t = np.load(sys.argv[3], mmap_mode="r")
assert t.shape == idx.shape and t.dtype == a.dtype, (t.shape, t.dtype)
step = 1 << 22
for s in range(0, idx.shape[0], step):
    assert np.array_equal(t[s:s + step], np.take(a, idx[s:s + step])), "entries %d.." % s
print("result: equal to NumPy's np.take(a, idx)")
PY
cg_measure python3 -c "import numpy as np, sys; np.save(sys.argv[3], np.take(np.load(sys.argv[1], mmap_mode='r'), np.load(sys.argv[2], mmap_mode='r')))" \
  "$file" "$index" "$dir/np_t.npy"
rm -f "$dir/np_t.npy"
if [ "$status" -eq 0 ]; then
  echo "FAILED: NumPy's np.take finished under the limit: the data is not larger than the cgroup"
  exit 1
fi
echo "numpy np.take of the same files under the same limit: exit $status (killed), as expected"
