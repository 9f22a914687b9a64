#!/bin/sh
# A/B of `reduce sum` and `stats` on 2 GiB float64 (issue #26): OLD is a release binary built
# from main before the fixed reduction tree, NEW this branch's. Alternating runs, one process.
# Usage: scripts/det_ab.sh OLD_BIN NEW_BIN [DIR]   (DIR: where the 2 GiB file goes; /dev/shm)
set -eu
OLD=$1; NEW=$2; DIR=${3:-/dev/shm/det-ab}
mkdir -p "$DIR"; F="$DIR/a.npy"
[ -f "$F" ] || "$NEW" gen "$F" --dtype float64 --shape 268435456 --fill normal --seed 1 --quiet
for cmd in "reduce sum" "stats"; do
  for i in 1 2 3 4 5; do
    for b in "$OLD" "$NEW"; do
      s=$(date +%s.%N); $b $cmd "$F" --json --quiet >/dev/null; e=$(date +%s.%N)
      echo "$cmd $(basename $(dirname $(dirname $(dirname $b))))/$i $(echo "$e - $s" | bc)"
    done
  done
done
rm -rf "$DIR"
