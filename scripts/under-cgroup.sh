#!/usr/bin/env bash
# Runs a command inside a fresh memory cgroup whose limit is LIMIT bytes, samples the
# command's resident anonymous memory (RssAnon) every 20 ms, and reports its peak.
#
#   scripts/under-cgroup.sh LIMIT_BYTES command [args…]
#
# Prints "peak_rss_anon_bytes=N" and "exit=N" on stderr and exits with the command's status
# (137 when the kernel's OOM killer stopped it). Exits 77 with a message when memory cgroups
# cannot be used here (not root, no memory controller): callers treat that as "skipped".
# Works with cgroup v1 (/sys/fs/cgroup/memory) and v2 (memory.max).
set -u
limit=$1; shift
name="outcore-proof-$$"
if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then
  cg=/sys/fs/cgroup/memory/$name
  mkdir "$cg" 2>/dev/null || { echo "skipped: cannot create a memory cgroup (v1)" >&2; exit 77; }
  echo "$limit" > "$cg/memory.limit_in_bytes" || { rmdir "$cg"; echo "skipped: cannot set memory.limit_in_bytes" >&2; exit 77; }
  # No swap to hide in, where the kernel accounts it.
  [ -w "$cg/memory.memsw.limit_in_bytes" ] && echo "$limit" > "$cg/memory.memsw.limit_in_bytes" 2>/dev/null
  [ -w "$cg/memory.swappiness" ] && echo 0 > "$cg/memory.swappiness" 2>/dev/null
elif [ -f /sys/fs/cgroup/cgroup.controllers ] && grep -qw memory /sys/fs/cgroup/cgroup.controllers; then
  cg=/sys/fs/cgroup/$name
  mkdir "$cg" 2>/dev/null || { echo "skipped: cannot create a memory cgroup (v2)" >&2; exit 77; }
  echo "$limit" > "$cg/memory.max" || { rmdir "$cg"; echo "skipped: cannot set memory.max" >&2; exit 77; }
  [ -w "$cg/memory.swap.max" ] && echo 0 > "$cg/memory.swap.max"
else
  echo "skipped: no writable memory cgroup controller" >&2
  exit 77
fi
cleanup() { rmdir "$cg" 2>/dev/null || true; }
trap cleanup EXIT

# Start the command inside the cgroup: a subshell moves itself in, then execs.
( echo $BASHPID > "$cg/cgroup.procs" && exec "$@" ) &
pid=$!
peak=0
while kill -0 "$pid" 2>/dev/null; do
  kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  if [ -n "${kb:-}" ] && [ "$kb" -gt "$peak" ]; then peak=$kb; fi
  sleep 0.02
done
wait "$pid"
status=$?
echo "peak_rss_anon_bytes=$((peak * 1024))" >&2
echo "exit=$status" >&2
exit "$status"
