# Shared set-up of the out-of-core proofs that run outcore inside a memory cgroup:
# scripts/prove-out-of-core.sh and benches/{eval,sort,transpose}_cgroup.sh. Sourced, not run:
#
#   . "$(cd "$(dirname "$0")/.." && pwd)/scripts/cgroup-lib.sh"
#
# Sets `here` (the repository root) and defines the functions below; each sets the globals it
# names, for the calling script to use.

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# cg_budget MIB [MARGIN_MIB]: sets budget_mib, budget (bytes) and margin (bytes: the binary,
# thread stacks, allocator slack; 16 MiB unless given).
cg_budget() {
  budget_mib=$1
  budget=$((budget_mib * 1024 * 1024))
  margin=$((${2:-16} * 1024 * 1024))
}

# cg_workdir NAME [DIR]: sets dir to DIR (created if missing) or to a new temporary directory
# outcore-NAME-XXXXXX, and removes it on exit.
cg_workdir() {
  dir=${2:-$(mktemp -d "${TMPDIR:-/tmp}/outcore-$1-XXXXXX")}
  mkdir -p "$dir"
  trap 'rm -rf "$dir"' EXIT
}

# cg_build [CARGO ARGS…]: builds the release binary; sets bin.
cg_build() {
  cargo build --release --quiet --manifest-path "$here/Cargo.toml" "$@"
  bin="$here/target/release/outcore"
}

# cg_mib BYTES: BYTES in MiB, for printf's %f.
cg_mib() {
  echo "${1:-0} / 1048576" | bc -l
}

# cg_measure CMD…: runs CMD inside a memory cgroup limited to budget + margin
# (scripts/under-cgroup.sh), its stderr in "$dir/err". Sets out (its stdout), status, secs and
# peak (peak resident anonymous memory, bytes). Where no memory cgroup can be made, prints why
# and "skipped" and exits 0.
cg_measure() {
  local start
  set +e
  start=$(date +%s.%N)
  out=$("$here/scripts/under-cgroup.sh" $((budget + margin)) "$@" 2>"$dir/err")
  status=$?
  secs=$(echo "$(date +%s.%N) - $start" | bc -l)
  set -e
  if [ $status -eq 77 ]; then cat "$dir/err"; echo "skipped"; exit 0; fi
  peak=$(sed -n 's/^peak_rss_anon_bytes=//p' "$dir/err")
}

# cg_verdict [DETAIL]: after cg_measure, sets verdict to "ok", "FAILED (exit N)" (with
# ": DETAIL" when a DETAIL argument is given) or "FAILED (anon over budget)".
cg_verdict() {
  verdict=ok
  if [ "$status" -ne 0 ]; then verdict="FAILED (exit $status${1+: $1})"; fi
  if [ "${peak:-0}" -gt "$budget" ]; then verdict="FAILED (anon over budget)"; fi
}
