#!/usr/bin/env bash
# Proves the sort is out-of-core: sorts a float64 array at least 8x the --mem budget inside a
# cgroup-v1 memory cgroup limited to budget + margin, checks the result against NumPy, and
# shows that NumPy's own np.sort of the same file, under the same limit, is killed.
#
#   benches/sort_cgroup.sh [BUDGET_MIB=32] [FACTOR=10] [DIR]
#
# Needs root and a cgroup-v1 memory controller (/sys/fs/cgroup/memory); prints "skipped: …"
# and exits 0 where that is not permitted.
set -euo pipefail
. "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
cg_budget "${1:-32}" 24          # margin: binary, thread stacks, allocator slack, page tables
factor=${2:-10}
cg_workdir sort-cg "${3:-}"
root=/sys/fs/cgroup/memory
if [ "$(id -u)" != 0 ] || [ ! -d "$root" ] || [ ! -w "$root" ]; then
  echo "skipped: needs root and a cgroup-v1 memory controller at $root"
  exit 0
fi
if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "skipped: numpy not available"
  exit 0
fi
limit=$((budget + margin))
n=$((budget * factor / 8))      # float64 elements
cg="$root/outcore-sort-$$"
mkdir "$cg" || { echo "skipped: cannot create $cg"; exit 0; }
cleanup() { rmdir "$cg" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
echo "$limit" > "$cg/memory.limit_in_bytes"
[ -w "$cg/memory.memsw.limit_in_bytes" ] && echo "$limit" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null || true
[ -w "$cg/memory.swappiness" ] && echo 0 > "$cg/memory.swappiness" 2>/dev/null || true

cg_build --bin outcore
in="$dir/in.npy"
"$bin" gen "$in" --dtype f8 --shape "$n" --fill normal --seed 11 --quiet
echo "input: $(du -h "$in" | cut -f1) = ${factor}x the ${budget_mib} MiB budget; cgroup limit $((limit >> 20)) MiB"

# Runs "$@" inside the cgroup; sets $status and $peak (the cgroup's max usage, page cache included).
in_cgroup() {
  echo 0 > "$cg/memory.max_usage_in_bytes" 2>/dev/null || true
  set +e
  ( echo $BASHPID > "$cg/cgroup.procs" && exec "$@" )
  status=$?
  set -e
  peak=$(cat "$cg/memory.max_usage_in_bytes")
  oom=$(awk '/^oom_kill / {print $2}' "$cg/memory.oom_control" 2>/dev/null || echo "?")
}

fail=0
start=$(date +%s.%N)
in_cgroup "$bin" sort "$in" -o "$dir/sorted.npy" --mem "${budget_mib}M" --tmp-dir "$dir" --quiet
secs=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'outcore sort:  exit=%s  cgroup peak=%.1f MiB  %.1f s  %.0f MiB/s\n' "$status" \
  "$(cg_mib "$peak")" "$secs" "$(echo "$n * 8 / 1048576 / $secs" | bc -l)"
if [ "$status" != 0 ]; then echo "FAILED: outcore sort did not finish inside the cgroup"; fail=1; fi
if [ "$status" = 0 ]; then
  python3 - "$in" "$dir/sorted.npy" <<'PY' || fail=1
import sys, numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
s = np.load(sys.argv[2], mmap_mode="r")
ok = s.shape == a.shape and s.dtype == a.dtype and np.array_equal(s, np.sort(a))
print("result equals np.sort:", "yes" if ok else "NO")
sys.exit(0 if ok else 1)
PY
fi
leftover=$(find "$dir" -mindepth 1 -not -name in.npy -not -name sorted.npy | wc -l)
if [ "$leftover" != 0 ]; then echo "FAILED: temporary files left in $dir"; fail=1; fi

in_cgroup python3 -c "import numpy as np, sys; np.save(sys.argv[2], np.sort(np.load(sys.argv[1], mmap_mode='r')))" \
  "$in" "$dir/np_sorted.npy"
printf 'numpy np.sort: exit=%s  cgroup peak=%.1f MiB  oom kills=%s\n' "$status" "$(cg_mib "$peak")" "$oom"
if [ "$status" = 0 ]; then
  echo "FAILED: np.sort finished under the limit: the array is not larger than the cgroup"; fail=1
else
  echo "np.sort of the same file under the same limit was killed (exit $status), as expected"
fi
exit $fail
