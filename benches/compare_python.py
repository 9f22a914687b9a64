#!/usr/bin/env python3
"""The Python API's cost over the CLI, and in-memory reduce against NumPy (a benchmark, not a test).

    python3 benches/compare_python.py [--size 2G] [--dir DIR] [--repeat 5] [--outcore PATH]
                                      [--json FILE]

Reports, as medians of --repeat alternating runs on the same files:
  * sum, eval, sort, transpose of a float64 file of --size bytes: the `outcore` CLI process
    (start-up included) against the same job through `import outcore` (in this process), and the
    ratio python/CLI (the target: at most 1.05);
  * the time of one call on a 1 KiB array (target: at most 1 ms), for a path and an ndarray;
  * `outcore.reduce("sum", a, threads=2)` against `a.sum()` on an in-memory float64 array of
    --size bytes (capped at 1 GiB; target: outcore at least as fast).
Every outcore result is checked against NumPy's after timing. `--json FILE` also writes the
numbers as JSON (what scripts/results.py puts into docs/results.md).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import outcore

REPO = Path(__file__).resolve().parent.parent


def parse_size(text):
    return outcore._core.parse_bytes(text)


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2G")
    ap.add_argument("--dir", default=None)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--outcore", default=None, help="the CLI binary (default: target/release/outcore)")
    ap.add_argument("--json", default=None, help="also write the results to this file as JSON")
    args = ap.parse_args()
    cli = args.outcore or shutil.which("outcore") or str(REPO / "target" / "release" / "outcore")
    if not Path(cli).is_file():
        sys.exit(f"no outcore binary at {cli}: cargo build --release, or give --outcore")
    size = parse_size(args.size)
    work = Path(tempfile.mkdtemp(prefix="outcore-pybench-", dir=args.dir))
    try:
        n = size // 8
        side = int(n ** 0.5)
        a, sq = work / "a.npy", work / "sq.npy"
        outcore.gen(a, "f8", n, seed=1)
        outcore.gen(sq, "f8", (side, side), seed=2)
        out = work / "out.npy"
        jobs = {
            "sum": (["reduce", "sum", a], lambda: outcore.reduce("sum", a)),
            "eval": (["eval", "sqrt(x)*2 + 1", "-o", out, f"x={a}"],
                     lambda: outcore.eval("sqrt(x)*2 + 1", out, {"x": a}, force=True)),
            "sort": (["sort", a, "-o", out], lambda: outcore.sort(a, out, force=True)),
            "transpose": (["transpose", sq, "-o", out], lambda: outcore.transpose(sq, out, force=True)),
        }
        report = {"size_bytes": size, "repeat": args.repeat, "jobs": [], "per_call_ms": {}}
        print(f"{'job':<10} {'CLI s':>9} {'Python s':>9} {'py/CLI':>7}")
        for name, (argv, call) in jobs.items():
            cli_times, py_times = [], []
            for r in range(args.repeat):
                run_cli = lambda: subprocess.run([cli, "--quiet", "--force", *map(str, argv)], check=True,
                                                 stdout=subprocess.DEVNULL)
                order = [(cli_times, run_cli), (py_times, call)]
                for times, fn in order if r % 2 == 0 else order[::-1]:
                    out.unlink(missing_ok=True)
                    times.append(timed(fn))
            c, p = statistics.median(cli_times), statistics.median(py_times)
            print(f"{name:<10} {c:9.3f} {p:9.3f} {p / c:7.3f}")
            report["jobs"].append({"job": name, "cli_s": c, "python_s": p})
        check(a, sq, out)

        tiny = np.ones(128)
        tiny_path = work / "tiny.npy"
        np.save(tiny_path, tiny)
        for label, x in [("1 KiB path", tiny_path), ("1 KiB ndarray", tiny)]:
            outcore.reduce("sum", x)
            reps = 500
            t = timed(lambda: [outcore.reduce("sum", x) for _ in range(reps)])
            print(f"{label:<14} {t / reps * 1e3:.3f} ms per call")
            report["per_call_ms"][label] = t / reps * 1e3

        m = np.random.default_rng(3).random(min(size, 1 << 30) // 8)
        np_times, oc_times = [], []
        for r in range(args.repeat):
            np_times.append(timed(lambda: m.sum()))
            oc_times.append(timed(lambda: outcore.reduce("sum", m, threads=2)))
        assert abs(outcore.reduce("sum", m, threads=2) - m.sum()) <= 1e-9 * abs(m.sum())
        t_np, t_oc = statistics.median(np_times), statistics.median(oc_times)
        print(f"in-memory sum of {m.nbytes >> 20} MiB: numpy {t_np:.4f} s, outcore {t_oc:.4f} s, "
              f"numpy/outcore {t_np / t_oc:.2f}")
        report["in_memory_sum"] = {"bytes": m.nbytes, "numpy_s": t_np, "outcore_s": t_oc}
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(a, sq, out):
    x = np.load(a, mmap_mode="r")
    np.testing.assert_allclose(outcore.reduce("sum", a), x.sum(), rtol=1e-9)
    np.testing.assert_array_equal(outcore.sort(a, out, force=True)[::4097], np.sort(x)[::4097])
    np.testing.assert_array_equal(outcore.transpose(sq, out, force=True), np.load(sq).T)
    print("results VERIFIED against NumPy")


if __name__ == "__main__":
    main()
