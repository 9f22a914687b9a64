#!/usr/bin/env bash
# Proves quantile and unique are out-of-core: both run on 1 GiB inputs inside a memory cgroup
# capped at 160 MiB (a 128 MiB --mem budget + 32 MiB margin), with peak resident anonymous
# memory under the budget, and their results equal NumPy's (computed outside the cgroup).
#
#   benches/analytics_cgroup.sh [SIZE_MIB=1024] [DIR]
#
# Needs root for the cgroup (scripts/under-cgroup.sh); prints "skipped" and exits 0 otherwise.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
cg_budget 128 32
size_mib=${1:-1024}
cg_workdir analytics-cg "${2:-}"
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "skipped: numpy not available"
  exit 0
fi
cg_build --bin outcore
n=$((size_mib * 1024 * 1024 / 8))
f="$dir/normal.npy"
ints="$dir/randint.npy"
"$bin" gen "$f" --dtype f8 --shape "$n" --fill normal --seed 3 --quiet
python3 - "$ints" "$n" <<'PY'
import sys, numpy as np
from numpy.lib.format import open_memmap
path, n = sys.argv[1], int(sys.argv[2])
o = open_memmap(path, mode="w+", dtype=np.int64, shape=(n,))
rng = np.random.default_rng(4)
step = 1 << 23
for i in range(0, n, step):
    o[i:i + step] = rng.integers(0, 10**6, min(step, n - i))
o.flush()
PY
echo "inputs: 2 x ${size_mib} MiB; budget ${budget_mib} MiB; cgroup limit $(((budget + margin) >> 20)) MiB"

fail=0
report() {
  cg_verdict
  [ "$verdict" = ok ] || fail=1
  printf '%-34s exit=%-3s %6.1f s  peak RssAnon=%6.1f MiB (budget %d MiB)  %s\n' "$1" "$status" \
    "$secs" "$(cg_mib "$peak")" "$budget_mib" "$verdict"
}

q=0,0.01,0.25,0.5,0.75,0.99,1
cg_measure "$bin" quantile "$f" --q "$q" --json --mem "${budget_mib}M" --quiet
report "quantile (7 q, linear) f8"
echo "$out" > "$dir/q.json"
cg_measure "$bin" quantile "$f" --q 0.5 --method nearest --json --mem "${budget_mib}M" --quiet
report "quantile (median, nearest) f8"
echo "$out" > "$dir/q2.json"
cg_measure "$bin" unique "$ints" -o "$dir/u.npy" --counts "$dir/c.npy" --mem "${budget_mib}M" \
  --tmp-dir "$dir" --quiet
report "unique (10^6 distinct) i8, hashing"
cg_measure "$bin" unique "$f" -o "$dir/u2.npy" --mem "${budget_mib}M" --tmp-dir "$dir" --quiet
report "unique (all distinct) f8, ext. sort"

python3 - "$f" "$ints" "$dir" "$q" <<'PY' || fail=1
import sys, json, numpy as np
f, ints, d, q = sys.argv[1], sys.argv[2], sys.argv[3], [float(x) for x in sys.argv[4].split(",")]
a = np.load(f, mmap_mode="r")
got = json.load(open(f"{d}/q.json"))["value"]
want = np.quantile(a, q).tolist()
assert got == want, f"quantile {got} != numpy {want}"
got = json.load(open(f"{d}/q2.json"))["value"][0]
assert got == float(np.quantile(a, 0.5, method="nearest")), "median (nearest) differs"
v, c = np.unique(np.load(ints, mmap_mode="r"), return_counts=True)
assert np.array_equal(np.load(f"{d}/u.npy"), v) and np.array_equal(np.load(f"{d}/c.npy"), c), "unique i8 differs"
u2 = np.load(f"{d}/u2.npy", mmap_mode="r")
assert u2.shape == np.unique(a).shape and np.array_equal(u2, np.unique(a)), "unique f8 differs"
print("results: equal to NumPy's (quantile, unique values and counts)")
PY
left=$(find "$dir" -name '.outcore-*' | wc -l)
[ "$left" = 0 ] || { echo "FAILED: $left temporary files left behind"; fail=1; }
[ $fail = 0 ] && echo "all ok" || echo "FAILED"
exit $fail
