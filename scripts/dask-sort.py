#!/usr/bin/env python3
"""Sorts a large float64 .npy on a local Dask cluster with outcore.dask, and the same file
with the single-machine `outcore sort`, in one run; verifies the result by streaming and
reports times, per-worker peak memory and bytes moved. Cleans up after itself.

    python3 scripts/dask-sort.py                      # 8 GiB, 4 workers of 2.5 GiB each
    python3 scripts/dask-sort.py --size 1G --dir /work/scratch-x --json out.json
    python3 scripts/dask-sort.py --dir /work/scratch --report docs/results.md

Needs `pip install './python[dask]'`. The cluster shares this machine's cores and disk, so
the ratio measures the overhead of distributing the sort, not a speed-up. The files
(input, output, intermediates: about 3.5x --size at the peak) go in --dir.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def parse_size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().rstrip("IB").rstrip("B") if text[-1:].upper() == "B" else text.strip().upper()
    num = t.rstrip("KMGT")
    return int(float(num) * units[t[len(num):]])


def mix(bits):
    """A per-element 64-bit hash (splitmix64's finalizer): summed, an order-free digest."""
    m = bits * np.uint64(0x9E3779B97F4A7C15)
    m ^= m >> np.uint64(30)
    m *= np.uint64(0xBF58476D1CE4E5B9)
    m ^= m >> np.uint64(27)
    m *= np.uint64(0x94D049BB133111EB)
    m ^= m >> np.uint64(31)
    return m


def stream(path, step=1 << 23):
    """The values of a 1-d .npy file, chunk by chunk (read, not mapped)."""
    a = np.load(path, mmap_mode="r")
    n, offset, dtype = a.size, a.offset, a.dtype
    del a
    with open(path, "rb") as f:
        f.seek(offset)
        for start in range(0, n, step):
            k = min(step, n - start)
            buf = np.empty(k, dtype=dtype)
            f.readinto(memoryview(buf.view(np.uint8)))
            yield buf


def digest(path):
    """(count, wrapping sum of the hashes of the value bits, NaN count)."""
    count, total, nans = 0, np.uint64(0), 0
    with np.errstate(over="ignore"):
        for chunk in stream(path):
            count += chunk.size
            total += np.add.reduce(mix(chunk.view(np.uint64)), dtype=np.uint64)
            nans += int(np.isnan(chunk).sum())
    return count, int(total), nans


def positional_digest(path):
    """A wrapping sum of hashes of (index, value bits): equal digests, equal files (to 64 bits)."""
    total, start = np.uint64(0), 0
    with np.errstate(over="ignore"):
        for chunk in stream(path):
            index = np.arange(start, start + chunk.size, dtype=np.uint64)
            total += np.add.reduce(mix(chunk.view(np.uint64) ^ mix(index)), dtype=np.uint64)
            start += chunk.size
    return int(total)


def check_sorted(path):
    """The file is in ascending order (NaNs last): chunk by chunk and across chunks."""
    last = -np.inf
    seen_nan = False
    for chunk in stream(path):
        nan = np.isnan(chunk)
        if seen_nan and not nan.all():
            return False
        finite = chunk[~nan]
        if nan.any():
            if not nan[np.argmax(nan):].all():
                return False
            seen_nan = True
        if finite.size and (finite[0] < last or np.any(finite[1:] < finite[:-1])):
            return False
        if finite.size:
            last = finite[-1]
    return True


def outcore_cli():
    exe = os.environ.get("OUTCORE_BIN") or str(ROOT / "target" / "release" / "outcore")
    return exe if Path(exe).is_file() else shutil.which("outcore")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="8G", help="input size in bytes (8G, 1G, 512M…); default 8G")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--memory-limit", default="2.5G", help="per-worker memory limit; default 2.5G")
    ap.add_argument("--dir", default=None, help="where the files go (default: a new temporary directory)")
    ap.add_argument("--json", default=None, help="also write the results to this JSON file")
    ap.add_argument("--keep", action="store_true", help="keep the files")
    ap.add_argument("--report", default=None,
                    help="also write the results as a marked section of this file (docs/results.md)")
    args = ap.parse_args()

    import distributed
    import outcore
    import outcore.dask as odask

    size = parse_size(args.size)
    limit = parse_size(args.memory_limit)
    n = size // 8
    base = Path(args.dir) if args.dir else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="dask-sort-", dir=base))
    result = {"size_bytes": n * 8, "elements": n, "workers": args.workers, "worker_memory_limit": limit}
    try:
        inp, single, dist = work / "input.npy", work / "single.npy", work / "dask.npy"
        t = time.perf_counter()
        outcore.gen(inp, "float64", (n,), fill="normal", seed=7)
        result["gen_seconds"] = time.perf_counter() - t
        print(f"input: {n * 8 / 2**30:.2f} GiB of float64 in {work}", flush=True)

        # Single machine: the command line (or the same library from Python).
        cli = outcore_cli()
        t = time.perf_counter()
        if cli:
            subprocess.run([cli, "sort", str(inp), "-o", str(single), "--flatten", "--quiet"], check=True)
            result["single_how"] = f"{cli} sort --flatten".replace(str(ROOT) + "/", "")
        else:
            outcore.sort(inp, single, flatten=True)
            result["single_how"] = "outcore.sort(flatten=True) (no CLI binary found)"
        result["single_seconds"] = time.perf_counter() - t
        print(f"single-machine outcore sort: {result['single_seconds']:.1f} s", flush=True)
        # Its digest, then the file goes: the disk holds one sorted copy at a time.
        single_digest = positional_digest(single)
        single.unlink()

        with distributed.LocalCluster(
            n_workers=args.workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, memory_limit=limit, silence_logs=40,
        ) as cluster, distributed.Client(cluster) as client:
            pids_before = client.run(os.getpid)
            report = {}
            t = time.perf_counter()
            odask.sort(str(inp), dist, report=report)
            result["dask_seconds"] = time.perf_counter() - t

            def peak():
                with open("/proc/self/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
                return {k: int(fields[k].split()[0]) * 1024 for k in ("VmHWM", "VmRSS") if k in fields}

            peaks = client.run(peak)
            pids_after = client.run(os.getpid)
        result["restarted_workers"] = len(set(pids_before.values()) - set(pids_after.values()))
        result["worker_peak_rss"] = {w: p["VmHWM"] for w, p in peaks.items()}
        result["phases"] = report["seconds"]
        result["bytes_moved"] = report["bytes_moved"]
        result["ranges"] = [
            {k: r[k] for k in ("part", "count", "budget", "worker", "seconds")} for r in report["ranges"]
        ]
        result["ratio"] = result["dask_seconds"] / result["single_seconds"]
        print(f"dask ({args.workers} workers, {limit / 2**30:.2f} GiB each): {result['dask_seconds']:.1f} s "
              f"= {result['ratio']:.2f}x the single machine (target <= 1.5x)", flush=True)

        t = time.perf_counter()
        d_in, d_out = digest(inp), digest(dist)
        result["sorted"] = check_sorted(dist)
        result["multiset_equal"] = d_in == d_out
        result["equals_single_machine"] = positional_digest(dist) == single_digest
        result["verify_seconds"] = time.perf_counter() - t
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    ok = result["sorted"] and result["multiset_equal"] and result["equals_single_machine"]
    result["ok"] = bool(ok)
    lines = [
        f"single machine (`{result['single_how']}`): "
        f"{result['single_seconds']:.1f} s; Dask: {result['dask_seconds']:.1f} s = "
        f"**{result['ratio']:.2f}x** (target <= 1.5x)",
    ]
    lines += [f"worker {w}: peak RSS {b / 2**30:.2f} GiB (limit {limit / 2**30:.2f} GiB)"
              for w, b in sorted(result["worker_peak_rss"].items())]
    lines += [f"range {r['part']}: {r['count'] * 8 / 2**30:.2f} GiB, outcore budget "
              f"{r['budget'] / 2**20:.0f} MiB, {r['seconds']:.1f} s on {r['worker']}" for r in result["ranges"]]
    lines += [
        "phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["phases"].items()),
        f"bytes moved through files: {result['bytes_moved'] / 2**30:.2f} GiB "
        f"({result['bytes_moved'] / result['size_bytes']:.1f}x the data); "
        f"workers restarted: {result['restarted_workers']}",
        f"verified by streaming: sorted={result['sorted']} multiset={result['multiset_equal']} "
        f"bit-identical to the single-machine sort={result['equals_single_machine']}",
    ]
    for line in lines[1:]:
        print(("  " if line.startswith(("worker", "range")) else "") + line)
    if args.report:
        write_report(Path(args.report), args, result, lines)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if ok else 1


def write_report(path, args, result, lines):
    """Replaces (or appends) the `dask-sort` section of `path`; scripts/results.py keeps it."""
    begin, end = "<!-- dask-sort -->", "<!-- /dask-sort -->"
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    sys.path.insert(0, str(ROOT / "scripts"))
    from results import machine  # the machine's description, as results.md gives it
    body = "\n".join(f"- {line}" for line in lines)
    section = (
        f"{begin}\n## Sort on a local Dask cluster\n\n"
        f"`python3 scripts/dask-sort.py --size {args.size} --workers {args.workers} "
        f"--memory-limit {args.memory_limit}`: {result['size_bytes'] / 2**30:.2f} GiB of normal float64, "
        f"{args.workers} process workers sharing this machine ({machine()}) and its disk (so the "
        f"ratio is the cost of distribution, not a speed-up). Commit {commit}, measured "
        f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC.\n\n{body}\n{end}"
    )
    text = path.read_text() if path.exists() else ""
    start, stop = text.find(begin), text.find(end)
    if start >= 0 and stop > start:
        text = text[:start] + section + text[stop + len(end):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    print(f"wrote the results into {path}")


if __name__ == "__main__":
    sys.exit(main())
