#!/usr/bin/env bash
# Sorts a float64 file larger than this machine's RAM with default settings and no memory
# cgroup (issue #25's moonshot): generates the file, sorts it, verifies the result with a
# streaming check (NumPy cannot load it), reports the time, peak RSS and peak disk use, and
# removes everything it made.
#
#   scripts/sort-larger-than-ram.sh [--size 28G] [--dir DIR] [--outcore PATH] [--report FILE]
#                                   [-- SORT-ARGS...]
#
# --size: bytes of float64 data (default: 28G, larger than the 24 GiB of RAM this was written
# for); --dir: where the input, output and sort scratch go (default /work/scratch-moonshot);
# --report: also write the results as a section of FILE (docs/results.md; replaces the
# section of an earlier run); arguments after `--` go to `outcore sort` (e.g. `-- --mem 1G`).
# Disk needed: about 2.1 × size (input and output; the sort frees its scratch runs as the
# final merge writes the output). The I/O floor (two cold reads and two synced writes of the
# data) is measured on 4 GiB with dd and scaled to the size; the page cache is dropped before
# the floor's read and before the sort (needs root; skipped, and said so, where not allowed).
set -euo pipefail

size=28G
dir=/work/scratch-moonshot
outcore=
report=
sort_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --dir) dir=$2; shift 2 ;;
        --outcore) outcore=$2; shift 2 ;;
        --report) report=$2; shift 2 ;;
        --) shift; sort_args=("$@"); break ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
need_kib=$((bytes * 21 / 10 / 1024 + (1 << 20)))
if [ "$(free_kib)" -lt "$need_kib" ]; then
    echo "not enough disk in $dir: need about $((need_kib >> 20)) GiB free" >&2
    exit 1
fi

echo "input: float64 [$n] = $bytes bytes in $work; RAM $(awk '/MemTotal/ {print $2}' /proc/meminfo) KiB"
"$outcore" gen "$work/in.npy" --dtype float64 --shape "$n" --fill random --seed 1 --quiet --force
sync

# The I/O floor: a synced write and a cold read of 4 GiB with dd, scaled to two of each.
drop_caches() { sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; }
cold=yes
floor_bytes=$((4 << 30))
t0=$(date +%s.%N)
dd if=/dev/zero of="$work/floor" bs=16M count=$((floor_bytes >> 24)) conv=fsync status=none
t1=$(date +%s.%N)
drop_caches || cold=no
t2=$(date +%s.%N)
dd if="$work/floor" of=/dev/null bs=16M status=none
t3=$(date +%s.%N)
rm -f "$work/floor"
floor=$(python3 -c "print(2 * $bytes / $floor_bytes * (($t1 - $t0) + ($t3 - $t2)))")
echo "I/O floor: write $(python3 -c "print(f'{$floor_bytes / ($t1 - $t0) / 1e9:.2f}')") GB/s synced," \
     "read $(python3 -c "print(f'{$floor_bytes / ($t3 - $t2) / 1e9:.2f}')") GB/s (cold: $cold);" \
     "two of each for the data: $(python3 -c "print(f'{$floor:.1f}')") s"
drop_caches || cold=no

# Peak disk use of the sort (input, output, scratch runs) as the drop of free space, and the
# sort's peak resident anonymous memory (RssAnon: what its budget bounds; RSS also counts the
# mapped input's file pages), sampled every 0.2 s. The default budget is a quarter of the
# available memory when it starts.
base_kib=$(free_kib)
budget_kib=$(awk '/^MemAvailable:/ {print int($2 / 4)}' /proc/meminfo)
echo 0 > "$work/peak"
echo 0 > "$work/anon"
start=$(date +%s.%N)
/usr/bin/time -f "%e %M" -o "$work/time" \
    "$outcore" sort "$work/in.npy" -o "$work/out.npy" --quiet "${sort_args[@]}" &
sort_pid=$!
(
    peak=0 anon=0
    while :; do
        used=$((base_kib - $(free_kib)))
        if [ "$used" -gt "$peak" ]; then peak=$used; echo "$peak" > "$work/peak"; fi
        for p in $(pgrep -P "$sort_pid"); do
            kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
            if [ -n "${kb:-}" ] && [ "$kb" -gt "$anon" ]; then anon=$kb; echo "$anon" > "$work/anon"; fi
        done
        sleep 0.2
    done
) &
monitor=$!
wait "$sort_pid"
end=$(date +%s.%N)
kill "$monitor"; wait "$monitor" 2>/dev/null || true
monitor=
read -r secs rss_kib < "$work/time"
peak_kib=$(cat "$work/peak")
anon_kib=$(cat "$work/anon")
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
wall=$(python3 -c "print(f'{$end - $start:.1f}')")
ratio=$(python3 -c "print(f'{($end - $start) / $floor:.2f}')")
total=$((in_bytes + peak_kib * 1024))
limit=$(( (in_bytes + out_bytes) * 115 / 100 ))
disk_ok=$([ "$total" -le "$limit" ] && echo within || echo OVER)
time_ok=$(python3 -c "print('within' if ($end - $start) <= 1.3 * $floor else 'OVER')")
machine="$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 2^20}' /proc/meminfo) RAM, $(df --output=fstype "$work" | tail -1 | tr -d ' ') on $(df --output=source "$work" | tail -1)"
lines=(
    "sort: $wall s wall (outcore: $secs s), $ratio x the I/O floor of $(python3 -c "print(f'{$floor:.1f}')") s (limit 1.3: $time_ok)"
    "memory: peak anonymous $(gib $((anon_kib * 1024))) GiB, budget $(gib $((budget_kib * 1024))) GiB (a quarter of the available memory): $([ "$anon_kib" -le "$budget_kib" ] && echo within || echo OVER); peak RSS with the mapped files' pages $(gib $((rss_kib * 1024))) GiB"
    "disk: peak $(gib "$total") GiB with the input (input $(gib "$in_bytes") GiB, output $(gib "$out_bytes") GiB, scratch runs the rest); limit input + output + 15% = $(gib "$limit") GiB: $disk_ok"
    "machine: $machine"
)
printf '%s\n' "${lines[@]}"

if [ -n "$report" ]; then
    commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
    cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
    section="<!-- sort-larger-than-ram -->
## A sort larger than RAM

\`scripts/sort-larger-than-ram.sh --size $size${sort_args[*]:+ -- ${sort_args[*]}}\`: $(gib "$bytes") GiB of random float64
sorted on a machine with $(nproc) CPUs (${cpu:-unknown CPU}) and $(awk '/MemTotal/ {printf "%.1f", $2 / 2^20}' /proc/meminfo) GiB of RAM, no memory cgroup, default settings (sampled every 0.2 s);
verified by a streaming check (sorted, NaNs last, the same multiset by a checksum). Commit
$commit, measured $(date -u '+%Y-%m-%d %H:%M') UTC; page cache dropped before the floor's read and the sort: $cold.

$(printf -- '- %s\n' "${lines[@]}")
<!-- /sort-larger-than-ram -->"
    python3 - "$report" "$section" <<'PY'
import sys
from pathlib import Path
path, section = Path(sys.argv[1]), sys.argv[2]
text = path.read_text() if path.exists() else ""
start = text.find("<!-- sort-larger-than-ram -->")
end = text.find("<!-- /sort-larger-than-ram -->")
if start >= 0 and end > start:
    text = text[:start] + section + text[end + len("<!-- /sort-larger-than-ram -->"):]
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
path.write_text(text)
PY
    echo "wrote the results into $report"
fi
