#!/usr/bin/env python3
"""Regenerates docs/results.md from a fresh run: `outcore bench --json` (each kernel against the
machine's own floors) and `benches/compare.py` (outcore against NumPy, and Dask where it is
installed), with the machine's description and the commit measured.

    python3 scripts/results.py [--size 2G] [--jobs sum,stats,eval] [--repeat 5] [--dir DIR]
                               [--out docs/results.md] [--plot docs/bench.svg] [--no-dask]
                               [--no-python]

Every option has an environment variable too (RESULTS_SIZE, RESULTS_JOBS, RESULTS_REPEAT,
RESULTS_DIR, RESULTS_OUT, RESULTS_PLOT, RESULTS_DASK=0, RESULTS_PYTHON=0); the binary is $OUTCORE, else
target/release/outcore (built with `cargo build --release` when missing). The default size is
small (256M) so that a trial run takes about a minute; the committed results use 2G. The Python
section (`benches/compare_python.py`) needs the package installed (`pip install ./python`). The
output replaces the whole file: results.md holds the latest run only, history is git's.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE, **kw).stdout


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} of memory, Linux {platform.release()}"


def commit():
    try:
        head = sh(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]).strip()
        dirty = sh(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"])
        return head + (" with uncommitted changes" if dirty.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"


def human(nbytes):
    if nbytes == 0:
        return "0 B"
    if nbytes >= 2**30:
        return f"{nbytes / 2**30:.1f} GiB"
    return f"{nbytes / 2**20:.1f} MiB"


def bench_table(bench):
    rows = ["| kernel | seconds | GB/s | floor | x floor | peak anon | verified |",
            "|---|---:|---:|---|---:|---:|---|"]
    for r in bench["results"]:
        rows.append(f"| {r['name']} | {r['seconds']:.3f} | {r['gb_per_s']:.2f} | "
                    f"{r['floor'] or '-'} | {r['ratio_to_floor']:.2f} | "
                    f"{human(r['peak_anon_bytes'])} | "
                    f"{'yes' if r['verified'] else 'NO'} |")
    return "\n".join(rows)


def compare_table(cmp):
    def secs(side):
        return f"{side['median_s']:.3f}" if side.get("median_s") else "n/a"

    def ratio(x):
        return f"{x:.2f}x" if x else "–"

    rows = ["| job | MiB | outcore s | NumPy s | Dask s | NumPy / outcore | Dask / outcore | verified |",
            "|---|---:|---:|---:|---:|---:|---:|---|"]
    for j in cmp["jobs"]:
        rows.append(f"| {j['job']} | {j['input']['bytes'] / 2**20:.0f} | {secs(j['outcore'])} | "
                    f"{secs(j['numpy'])} | {secs(j['dask'])} | "
                    f"{ratio(j['ratio_numpy_over_outcore'])} | "
                    f"{ratio(j['ratio_dask_over_outcore'])} | {j['verified']} |")
    return "\n".join(rows)


def python_table(py):
    rows = ["| job | CLI s | Python s | Python / CLI |", "|---|---:|---:|---:|"]
    for j in py["jobs"]:
        rows.append(f"| {j['job']} | {j['cli_s']:.3f} | {j['python_s']:.3f} | "
                    f"{j['python_s'] / j['cli_s']:.3f} |")
    calls = ", ".join(f"{label}: {ms:.3f} ms" for label, ms in py["per_call_ms"].items())
    m = py["in_memory_sum"]
    return "\n".join(rows) + (
        f"\n\nOne call on a 1 KiB array (mean of 500): {calls}.\n"
        f"In-memory sum of a {m['bytes'] / 2**20:.0f} MiB float64 ndarray: `a.sum()` "
        f"{m['numpy_s']:.4f} s, `outcore.reduce(\"sum\", a, threads=2)` {m['outcore_s']:.4f} s "
        f"(NumPy / outcore {m['numpy_s'] / m['outcore_s']:.2f}x).")


def main():
    env = os.environ.get
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default=env("RESULTS_SIZE", "256M"))
    p.add_argument("--jobs", default=env("RESULTS_JOBS", "sum,stats,eval"))
    p.add_argument("--repeat", default=env("RESULTS_REPEAT", "3"))
    p.add_argument("--dir", default=env("RESULTS_DIR"))
    p.add_argument("--out", default=env("RESULTS_OUT", str(REPO / "docs" / "results.md")))
    p.add_argument("--plot", default=env("RESULTS_PLOT", str(REPO / "docs" / "bench.svg")))
    p.add_argument("--no-dask", action="store_true", default=env("RESULTS_DASK") == "0")
    p.add_argument("--no-python", action="store_true", default=env("RESULTS_PYTHON") == "0")
    args = p.parse_args()

    binary = Path(env("OUTCORE", REPO / "target" / "release" / "outcore"))
    if not binary.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "outcore"], cwd=REPO, check=True)
    work = Path(tempfile.mkdtemp(prefix="outcore-results-", dir=args.dir))
    try:
        bench_cmd = [str(binary), "bench", "--size", args.size, "--dir", str(work), "--quiet",
                     "--json", "--plot", args.plot]
        print("+", " ".join(bench_cmd), file=sys.stderr)
        bench = json.loads(sh(bench_cmd).strip().splitlines()[-1])

        cmp_json = work / "compare.json"
        cmp_cmd = [sys.executable, str(REPO / "benches" / "compare.py"), "--size", args.size,
                   "--dir", str(work / "cmp"), "--jobs", args.jobs, "--repeat", args.repeat,
                   "--outcore", str(binary), "--json", str(cmp_json)]
        cmp_env = dict(os.environ)
        if args.no_dask:
            cmp_cmd.append("--no-dask")
            # compare.py would otherwise make a virtualenv to install Dask into.
            cmp_env["OUTCORE_BENCH_REEXEC"] = "1"
        print("+", " ".join(cmp_cmd), file=sys.stderr)
        (work / "cmp").mkdir()
        rc = subprocess.run(cmp_cmd, env=cmp_env, stdout=sys.stderr).returncode
        cmp = json.loads(cmp_json.read_text())
        if rc != 0:
            sys.exit(f"benches/compare.py failed (exit {rc}); {args.out} left as it was")

        py = None
        if not args.no_python:
            py_json = work / "python.json"
            py_cmd = [sys.executable, str(REPO / "benches" / "compare_python.py"), "--size", args.size,
                      "--dir", str(work), "--repeat", args.repeat, "--outcore", str(binary),
                      "--json", str(py_json)]
            print("+", " ".join(py_cmd), file=sys.stderr)
            rc = subprocess.run(py_cmd, stdout=sys.stderr).returncode
            if rc != 0:
                sys.exit(f"benches/compare_python.py failed (exit {rc}); {args.out} left as it was")
            py = json.loads(py_json.read_text())
    finally:
        subprocess.run(["rm", "-rf", str(work)])

    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    plot = os.path.relpath(args.plot, Path(args.out).resolve().parent)
    text = f"""# outcore: measured results

The latest run only, written by `scripts/results.py` (rerun it to replace this file; earlier
runs are in git's history). How to read the numbers, and what the measuring machine does to
them, is in [design.md](design.md#the-measuring-machine).

- Commit: {commit()}; measured {when}.
- Machine: {machine()}.
- Commands: `outcore bench --size {args.size} --json` and
  `python3 benches/compare.py --size {args.size} --jobs {args.jobs} --repeat {args.repeat}`.

## Each kernel against the machine's own floor

`x floor` is the floor's time over the kernel's (1.0: as fast as merely reading the bytes from
the page cache, or reading them and writing new ones, synced). {bench['threads']} threads, memory
budget {bench['budget_bytes'] / 2**30:.1f} GiB. Read-only kernels: best of 5 rounds alternating with
the read floor; gen, eval, convert, transpose: best of 3 rounds alternating with the write
floor; every input cached as read from disk in one pass, and re-read (untimed) before each
writing kernel. Every result is verified after timing.

{bench_table(bench)}

![outcore bench: throughput per kernel against its floor]({plot})

## Against NumPy and Dask

Medians of {args.repeat} alternating runs on the same files. outcore's time is the whole process,
NumPy's and Dask's the job only (in a Python that has already imported them); outcore's outputs
are fsynced, `np.save`'s are not. Ratios above 1: outcore is faster.

{compare_table(cmp)}
"""
    if py:
        text += f"""
## The Python package against the CLI

`benches/compare_python.py --size {args.size} --repeat {args.repeat}`: the same job through
`import outcore` (in-process) and through the `outcore` binary (a whole process), medians of
alternating runs on the same files; every result verified against NumPy.

{python_table(py)}
"""
    text += carried_sections(Path(args.out))
    Path(args.out).write_text(text)
    print(f"wrote {args.out} and {args.plot}", file=sys.stderr)


# Sections other scripts write into results.md (each its own run, commit and date), kept as
# they are when this script replaces the rest: `scripts/sort-larger-than-ram.sh --report` and
# `scripts/dask-sort.py --report`.
CARRIED = ("sort-larger-than-ram", "dask-sort")


def carried_sections(path):
    try:
        old = path.read_text()
    except FileNotFoundError:
        return ""
    kept = ""
    for name in CARRIED:
        begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
        start, stop = old.find(begin), old.find(end)
        if start >= 0 and stop > start:
            kept += "\n" + old[start:stop + len(end)] + "\n"
    return kept


if __name__ == "__main__":
    main()
