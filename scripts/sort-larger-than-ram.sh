#!/usr/bin/env bash
# Sorts a float64 file larger than this machine's RAM with default settings and no memory
# cgroup (issue #25's moonshot): generates the file, sorts it, verifies the result with a
# streaming check (NumPy cannot load it), reports the time, peak RSS and peak disk use, and
# removes everything it made.
#
#   scripts/sort-larger-than-ram.sh [--size 28G] [--dir DIR] [--outcore PATH] [-- SORT-ARGS...]
#
# --size: bytes of float64 data (default: 28G, larger than the 24 GiB of RAM this was written
# for); --dir: where the input, output and sort scratch go (default /work/scratch-moonshot);
# arguments after `--` go to `outcore sort` (e.g. `-- --mem 1G`). Disk needed: about
# 2 × size + the sort's scratch runs (another size).
set -euo pipefail

size=28G
dir=/work/scratch-moonshot
outcore=
sort_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --outcore) outcore=$2; shift 2 ;;
        --) shift; sort_args=("$@"); break ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
repo=$(cd "$(dirname "$0")/.." && pwd)
outcore=${outcore:-$repo/target/release/outcore}
[ -x "$outcore" ] || { echo "no outcore binary at $outcore (cargo build --release)" >&2; exit 2; }
bytes=$(python3 -c "import sys; sys.path.insert(0, '$repo/benches'); from compare import parse_bytes; print(parse_bytes('$size'))")
n=$((bytes / 8))

mkdir -p "$dir"
work=$(mktemp -d "$dir/moonshot.XXXXXX")
monitor=
cleanup() {
    [ -n "$monitor" ] && kill "$monitor" 2>/dev/null && wait "$monitor" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_kib() { df -k --output=avail "$work" | tail -1 | tr -d ' '; }
need_kib=$((bytes * 3 / 1024 + (1 << 20)))
if [ "$(free_kib)" -lt "$need_kib" ]; then
    echo "not enough disk in $dir: need about $((need_kib >> 20)) GiB free" >&2
    exit 1
fi

echo "input: float64 [$n] = $bytes bytes in $work; RAM $(awk '/MemTotal/ {print $2}' /proc/meminfo) KiB"
"$outcore" gen "$work/in.npy" --dtype float64 --shape "$n" --fill random --seed 1 --quiet --force
sync

# Peak disk use of the sort (input, output, scratch runs) as the drop of free space, sampled
# every 0.2 s from before the sort starts.
base_kib=$(free_kib)
echo 0 > "$work/peak"
(
    peak=0
    while :; do
        used=$((base_kib - $(free_kib)))
        if [ "$used" -gt "$peak" ]; then peak=$used; echo "$peak" > "$work/peak"; fi
        sleep 0.2
    done
) &
monitor=$!

start=$(date +%s.%N)
/usr/bin/time -f "%e %M" -o "$work/time" \
    "$outcore" sort "$work/in.npy" -o "$work/out.npy" --quiet "${sort_args[@]}"
end=$(date +%s.%N)
kill "$monitor"; wait "$monitor" 2>/dev/null || true
monitor=
read -r secs rss_kib < "$work/time"
peak_kib=$(cat "$work/peak")
in_bytes=$(stat -c %s "$work/in.npy")
out_bytes=$(stat -c %s "$work/out.npy")

# Streaming check: same length, sorted (also across block edges), and the same multiset by
# an order-independent checksum (sum of the values' bit patterns, and count of NaNs).
python3 - "$work/in.npy" "$work/out.npy" <<'PY'
import sys
import numpy as np
a = np.load(sys.argv[1], mmap_mode="r")
b = np.load(sys.argv[2], mmap_mode="r")
assert a.shape == b.shape and b.dtype == a.dtype, (a.shape, b.shape, a.dtype, b.dtype)
step = 1 << 24
def checksum(x):
    s, nans = 0, 0
    for i in range(0, x.shape[0], step):
        blk = np.asarray(x[i:i + step])
        s = (s + int(blk.view(np.uint64).sum(dtype=np.uint64))) % (1 << 64)
        nans += int(np.isnan(blk).sum())
    return s, nans
seen_nan, last = False, -np.inf
for i in range(0, b.shape[0], step):
    blk = np.asarray(b[i:i + step])
    nan = np.isnan(blk)
    k = len(blk) - int(nan.sum())
    assert not nan[:k].any() and (not seen_nan or k == 0), f"NaNs not last (block at {i})"
    body = blk[:k]
    assert np.all(body[:-1] <= body[1:]), f"not sorted in the block at {i}"
    if k:
        assert last <= body[0], f"not sorted across the block edge at {i}"
        last = body[-1]
    seen_nan = seen_nan or k < len(blk)
assert checksum(a) == checksum(b), "the output is not a permutation of the input"
print("verified: sorted, NaNs last, same values (checksum of bit patterns)")
PY

gib() { python3 -c "print(f'{$1 / 2**30:.2f}')"; }
echo "sort: $(python3 -c "print(f'{$end - $start:.1f}')") s wall (outcore: $secs s), peak RSS $(gib $((rss_kib * 1024))) GiB"
total=$((in_bytes + peak_kib * 1024))
limit=$(( (in_bytes + out_bytes) * 115 / 100 ))
echo "disk: peak $(gib "$total") GiB with the input (input $(gib "$in_bytes") GiB, output" \
     "$(gib "$out_bytes") GiB, scratch runs the rest); limit input + output + 15% =" \
     "$(gib "$limit") GiB: $([ "$total" -le "$limit" ] && echo within || echo OVER)"
echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 2^20}' /proc/meminfo) RAM, $(df -h --output=fstype,source "$work" | tail -1)"
