#!/usr/bin/env python3
"""outcore against NumPy and Dask on the same .npy files (SPEC §6: ratios measured in one run).

    python3 benches/compare.py [--size 1G] [--dir DIR] [--repeat 3] [--outcore PATH]
                               [--jobs sum,stats,eval,sort,argsort,transpose,convert,
                                       floors,sort-nosync,sort-ext,argsort-ext,
                                       take,mask,concat,histogram,scan,quantile,
                                       unique]
                               [--json OUT.json] [--timeout 1200] [--oom-demo BUDGET]

Every job runs on the same input files, made once with `outcore gen` (float64, uniform random):
a 1-d array of --size bytes, and for `transpose` a square 2-d array of about --size bytes;
`unique` runs on an int64 array of --size bytes of randint(0, 10**6) (10**6 distinct values).
histogram: 100 bins; scan: cumsum; quantile: q = 0.01,0.25,0.5,0.75,0.99 (linear);
unique: values and counts, both written.
`take` also reads an int64 index of the same length, a random permutation (the `outcore argsort`
of the random 1-d input, as a user applies an argsort to another column; NumPy's permutation
where argsort is missing); `mask` a bool array of the same length (`x < 0.5`, about half true);
`concat` joins the 1-d input with itself. Their NumPy sides work in 64 MiB chunks into an
`open_memmap` output (`np.take(memmap, idx[chunk])`, `a[chunk][m[chunk]]` at prefix offsets
after a counting pass, `np.concatenate(..., out=)`), and end with flush and fsync, as outcore's
durable outputs do. With both `take` and `sort` in --jobs the take/sort time ratio is printed
(target: at most 2).
For each job the three sides run alternately (the order is reversed on every repeat) --repeat
times and the medians are reported, with GB/s (input data bytes / 1e9 / s) and the ratios
numpy_time / outcore_time and dask_time / outcore_time (> 1: outcore is faster).

How each side is timed:
  * outcore: the whole CLI process (`--quiet --force`), start-up included;
  * NumPy / Dask: the job only, inside a fresh Python process that has already imported
    numpy/dask (interpreter start-up and imports are not counted, which favours NumPy/Dask;
    the whole-process times are kept in the --json file as `process_*`).
Inputs are dropped from the page cache and read back whole before timing, and read again,
untimed, before every run (dropped and read back whole if any page of them went missing: the VM
this was written on pages out file pages left idle for about a minute), so every side sees the
same warm cache, that of a file read from disk in one pass (see `warm`). Outputs are new files
each run (removed before the run, `sync` before each run, untimed); outcore fsyncs its outputs
before exiting, memmap.flush() msyncs. Sorts compare like for like (SPEC §6): `sort`, `argsort`,
`sort-ext` and `argsort-ext` against NumPy's np.save followed by os.fsync, `sort-nosync`
(`outcore sort --no-sync`) against a plain np.save. `sort-ext` and `argsort-ext` give outcore a
budget (`--mem`) of 1/8 of the data, so it sorts externally. `floors` times dd: a durable write
of --size bytes (conv=fsync), a page-cache write and a read of the cached input; and NumPy's
in-place np.sort of the input's values already in memory (the CPU's own sorting speed, one core,
no I/O): the report then says what the targets ask of the CPU. With the jobs
`floors,sort-nosync,sort,sort-ext,argsort-ext` in one run, the issue #25 targets are reported
(MET / NOT MET) from that run's medians.

After timing, each outcore result is checked against NumPy's (sort, argsort --stable, eval,
transpose, convert: exact; sum, stats: relative 1e-9) and marked VERIFIED or MISMATCH.
A job whose subcommand the outcore binary lacks is reported as "not available in this build".

--oom-demo BUDGET (root and a memory cgroup needed, otherwise skipped with a message) runs
np.sort inside a memory cgroup limited to BUDGET on a file larger than BUDGET, to show it is
killed, then `outcore sort --mem BUDGET-16M` in the same kind of cgroup, which finishes.

If numpy and dask[array] cannot be imported, a virtualenv is made at .venv-bench/ in the
repository root (or under --dir when given, or at --venv), numpy and "dask[array]" are
pip-installed into it and the script re-runs itself with that interpreter. When Dask cannot be
installed the comparison goes on with NumPy only.
"""

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALL_JOBS = ["sum", "stats", "eval", "sort", "argsort", "transpose", "convert",
            "floors", "sort-nosync", "sort-ext", "argsort-ext", "take", "mask", "concat",
            "histogram", "scan", "quantile", "unique"]
QUANTILE_Q = [0.01, 0.25, 0.5, 0.75, 0.99]
UNIQUE_DISTINCT = 10 ** 6  # the `unique` input: int64 randint(0, 10**6), --size bytes
# The sort targets of issue #25 need these jobs in one run (ratios of one run's medians).
SORT_TARGET_JOBS = ["floors", "sort-nosync", "sort", "sort-ext", "argsort-ext"]
# The machine's floors, measured like a job (alternating, --repeat times): a durable write of
# --size bytes (dd conv=fsync), a write into the page cache (dd, no sync), a read of the
# cached input (dd to /dev/null), and the CPU's own sorting speed: NumPy's in-place np.sort of
# the input's values already in memory (one core, no I/O, timed inside the process).
FLOOR_SIDES = ["write-fsync", "write-cache", "read-cached", "numpy-sort"]
NUMPY_SORT_FLOOR = """
import sys, time
import numpy as np
a = np.load(sys.argv[1])
t = time.perf_counter()
a.sort()
print(time.perf_counter() - t)
"""
ENGINES = ["outcore", "numpy", "dask"]
CHUNK = 64 << 20  # NumPy's chunked loops and Dask's chunks: 64 MiB
DASK_CHUNKS = "64MiB"
REEXEC_ENV = "OUTCORE_BENCH_REEXEC"
NOTE_ENV = "OUTCORE_BENCH_NOTE"


# --------------------------------------------------------------------------------------------
# Small helpers


def parse_bytes(text):
    """Same rules as outcore's --mem: 512M, 4G, 4GiB, 1.5GB; binary multiples (K = 1024)."""
    s = str(text).strip()
    i = 0
    while i < len(s) and (s[i].isdigit() or s[i] == "."):
        i += 1
    num, unit = s[:i], s[i:].strip().lower()
    mult = {"": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
            "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
            "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
            "t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40}.get(unit)
    try:
        value = float(num)
    except ValueError:
        value = None
    if mult is None or value is None or value < 0:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (expected e.g. 64M, 1G, 4GiB)")
    return int(round(value * mult))


def fmt_bytes(n):
    v, units = float(n), ["B", "KiB", "MiB", "GiB", "TiB"]
    u = 0
    while v >= 1024 and u + 1 < len(units):
        v /= 1024
        u += 1
    return f"{int(v)} B" if u == 0 else f"{v:.1f} {units[u]}"


def log(msg=""):
    print(msg, flush=True)


def warn(msg):
    print(f"warning: {msg}", file=sys.stderr, flush=True)


def first_line(text, limit=160):
    lines = [l.strip() for l in (text or "").strip().splitlines() if l.strip()]
    if not lines:
        return ""
    # Python tracebacks: the last line says what went wrong.
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe_exit(rc):
    if rc is None:
        return "did not finish"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        extra = " (out of memory?)" if -rc == signal.SIGKILL else ""
        return f"killed by {name}{extra}"
    return f"exit {rc}"


def run_process(cmd, timeout, preexec_fn=None, env=None):
    """Runs cmd in its own process group; returns (rc, stdout, stderr, seconds, timed_out).

    On timeout or Ctrl-C the whole group that this call started is killed (by its id)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=preexec_fn, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
        return proc.returncode, out, err, time.perf_counter() - t0, False
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        out, err = proc.communicate()
        return proc.returncode, out, err, time.perf_counter() - t0, True
    except BaseException:
        _kill_group(proc)
        proc.communicate()
        raise


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def sync():
    try:
        os.sync()
    except (AttributeError, OSError):
        pass


def remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# --------------------------------------------------------------------------------------------
# Environment: numpy + dask, or a virtualenv with them


def importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def dask_array_importable():
    if not (importable("dask") and importable("numpy")):
        return False
    try:
        import dask.array  # noqa: F401  (its optional dependencies must be there too)
        return True
    except Exception:
        return False


def ensure_environment(args):
    """Returns a note (or None) about the Python environment; may re-exec into a venv."""
    if os.environ.get(REEXEC_ENV):  # already re-run inside the venv
        note = os.environ.get(NOTE_ENV) or None
        if not importable("numpy"):
            sys.exit("error: numpy is not importable even inside the virtualenv "
                     f"{sys.prefix}; see the pip messages above")
        return note
    if importable("numpy") and dask_array_importable():
        return None
    venv = Path(args.venv) if args.venv else (
        Path(args.dir) / ".venv-bench" if args.dir else REPO / ".venv-bench")
    py = venv / "bin" / "python"
    log(f"numpy and dask[array] are not both importable by {sys.executable}; "
        f"using the virtualenv {venv}")
    note = None
    try:
        if not py.exists():
            log(f"creating the virtualenv {venv} …")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            # Keep it out of git, as Python >= 3.13's venv does by itself.
            (venv / ".gitignore").write_text("# created by benches/compare.py\n*\n")
        pip = [str(py), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        if subprocess.run([str(py), "-c", "import numpy"], capture_output=True).returncode:
            log("pip install numpy …")
            subprocess.run(pip + ["numpy"], check=True)
        if subprocess.run([str(py), "-c", "import dask.array"], capture_output=True).returncode:
            log('pip install "dask[array]" …')
            r = subprocess.run(pip + ["dask[array]"])
            if r.returncode != 0:
                note = 'Dask could not be installed (pip install "dask[array]" failed): NumPy only'
    except (OSError, subprocess.CalledProcessError) as e:
        if importable("numpy"):
            note = f"could not set up the virtualenv ({e}); NumPy only, with {sys.executable}"
            warn(note)
            return note
        sys.exit(f"error: numpy is not importable and the virtualenv {venv} could not be "
                 f"set up: {e}")
    env = dict(os.environ, **{REEXEC_ENV: "1"})
    if note:
        env[NOTE_ENV] = note
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(str(py), [str(py), str(Path(__file__).resolve())] + sys.argv[1:], env)


# --------------------------------------------------------------------------------------------
# The NumPy / Dask side: each run is a fresh process running this file with --_worker SPEC.
# Imports happen before the clock starts; the job (np.load included) is timed.


def _np_chunks(n, itemsize):
    step = max(1, CHUNK // max(1, itemsize))
    for i in range(0, n, step):
        yield slice(i, min(n, i + step))


def _fsync(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def worker_main(spec):
    import numpy as np
    from numpy.lib.format import open_memmap
    job, engine, f, out = spec["job"], spec["engine"], spec["input"], spec.get("output")
    aux = spec.get("aux")
    if engine == "dask":
        import dask
        import dask.array as da

    def numpy_sum():
        return float(np.load(f, mmap_mode="r").sum())

    def dask_sum():
        return float(da.from_array(np.load(f, mmap_mode="r"), chunks=DASK_CHUNKS).sum().compute())

    def numpy_stats():
        a = np.load(f, mmap_mode="r")  # the natural way: one pass per statistic
        return {"count": int(a.size), "sum": float(a.sum()), "mean": float(a.mean()),
                "std": float(a.std()), "min": float(a.min()), "max": float(a.max()),
                "nan_count": int(np.isnan(a).sum())}

    def dask_stats():
        x = da.from_array(np.load(f, mmap_mode="r"), chunks=DASK_CHUNKS)
        s, mean, std, mn, mx, nans = dask.compute(x.sum(), x.mean(), x.std(), x.min(), x.max(),
                                                  da.isnan(x).sum())
        return {"count": int(x.size), "sum": float(s), "mean": float(mean), "std": float(std),
                "min": float(mn), "max": float(mx), "nan_count": int(nans)}

    def numpy_eval():
        x = np.load(f, mmap_mode="r")
        o = open_memmap(out, mode="w+", dtype=x.dtype, shape=x.shape)
        for s in _np_chunks(x.shape[0], x.itemsize):
            o[s] = 2 * x[s] + 1
        o.flush()

    def dask_eval():
        a = np.load(f, mmap_mode="r")
        x = da.from_array(a, chunks=DASK_CHUNKS)
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=a.shape)
        da.store(2 * x + 1, o)
        o.flush()

    def save_synced(a):
        # Like for like with outcore's default (SPEC §6): the output flushed to disk.
        with open(out, "wb") as fh:
            np.save(fh, a)
            fh.flush()
            os.fsync(fh.fileno())

    def numpy_sort():
        save_synced(np.sort(np.load(f, mmap_mode="r")))

    def numpy_argsort():
        save_synced(np.argsort(np.load(f, mmap_mode="r"), kind="stable"))

    numpy_sort_ext, numpy_argsort_ext = numpy_sort, numpy_argsort

    def numpy_sort_nosync():
        np.save(out, np.sort(np.load(f, mmap_mode="r")))

    def numpy_transpose():
        a = np.load(f, mmap_mode="r")
        n, m = a.shape
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=(m, n))
        o[:] = a.T
        o.flush()

    def dask_transpose():
        a = np.load(f, mmap_mode="r")
        n, m = a.shape
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=(m, n))
        da.store(da.from_array(a, chunks=(4096, 4096)).T, o)
        o.flush()

    def numpy_convert():
        x = np.load(f, mmap_mode="r")
        o = open_memmap(out, mode="w+", dtype=np.float32, shape=x.shape)
        for s in _np_chunks(x.shape[0], x.itemsize):
            o[s] = x[s].astype(np.float32)
        o.flush()

    def dask_convert():
        a = np.load(f, mmap_mode="r")
        o = open_memmap(out, mode="w+", dtype=np.float32, shape=a.shape)
        da.store(da.from_array(a, chunks=DASK_CHUNKS).astype(np.float32), o)
        o.flush()

    def numpy_take():
        a = np.load(f, mmap_mode="r")
        idx = np.load(aux, mmap_mode="r")
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=idx.shape)
        for s in _np_chunks(idx.shape[0], a.itemsize):
            o[s] = np.take(a, idx[s])
        o.flush()
        _fsync(out)

    def numpy_mask():
        a = np.load(f, mmap_mode="r")
        m = np.load(aux, mmap_mode="r")
        counts = [int(np.count_nonzero(m[s])) for s in _np_chunks(m.shape[0], a.itemsize)]
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=(sum(counts),))
        at = 0
        for s, c in zip(_np_chunks(m.shape[0], a.itemsize), counts):
            o[at:at + c] = a[s][m[s]]
            at += c
        o.flush()
        _fsync(out)

    def dask_mask():
        a, m = np.load(f, mmap_mode="r"), np.load(aux, mmap_mode="r")
        x = da.from_array(a, chunks=DASK_CHUNKS)[da.from_array(m, chunks=DASK_CHUNKS)]
        x.compute_chunk_sizes()
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=x.shape)
        da.store(x, o)
        o.flush()
        _fsync(out)

    def numpy_concat():
        a = np.load(f, mmap_mode="r")
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=(2 * a.shape[0],))
        np.concatenate([a, a], out=o)
        o.flush()
        _fsync(out)

    def dask_concat():
        a = np.load(f, mmap_mode="r")
        x = da.from_array(a, chunks=DASK_CHUNKS)
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=(2 * a.shape[0],))
        da.store(da.concatenate([x, x]), o)
        o.flush()
        _fsync(out)

    def numpy_histogram():
        c, e = np.histogram(np.load(f, mmap_mode="r"), bins=100)
        return {"counts": c.tolist(), "edges": e.tolist()}

    def dask_histogram():
        x = da.from_array(np.load(f, mmap_mode="r"), chunks=DASK_CHUNKS)
        lo, hi = dask.compute(x.min(), x.max())
        c, e = da.histogram(x, bins=100, range=(float(lo), float(hi)))
        return {"counts": c.compute().tolist(), "edges": e.tolist()}

    def numpy_scan():
        np.save(out, np.cumsum(np.load(f, mmap_mode="r")))
        _fsync(out)

    def dask_scan():
        a = np.load(f, mmap_mode="r")
        o = open_memmap(out, mode="w+", dtype=a.dtype, shape=a.shape)
        da.store(da.cumsum(da.from_array(a, chunks=DASK_CHUNKS)), o)
        o.flush()
        _fsync(out)

    def numpy_quantile():
        return np.quantile(np.load(f, mmap_mode="r"), QUANTILE_Q).tolist()

    def numpy_unique():
        v, c = np.unique(np.load(f, mmap_mode="r"), return_counts=True)
        np.save(out, v)
        np.save(out + ".counts.npy", c)
        _fsync(out)
        _fsync(out + ".counts.npy")

    fn = locals().get(f"{engine}_{job.replace('-', '_')}")
    if fn is None:
        print(json.dumps({"error": f"no {engine} implementation of {job}"}))
        return 3
    t0 = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "result": result}))
    return 0


# --------------------------------------------------------------------------------------------
# Jobs


def outcore_cmd(job, binary, f, out, extra, aux=None):
    base = {
        "sum": ["reduce", "sum", f, "--json"],
        "stats": ["stats", f, "--json"],
        "eval": ["eval", "2*x+1", "-o", out, f"x={f}"],
        "sort": ["sort", f, "-o", out],
        "sort-nosync": ["sort", f, "-o", out, "--no-sync"],
        # External: a budget of 1/8 of the data (`extra` carries --mem).
        "sort-ext": ["sort", f, "-o", out],
        "argsort": ["argsort", f, "-o", out, "--stable"],
        "argsort-ext": ["argsort", f, "-o", out, "--stable"],
        "transpose": ["transpose", f, "-o", out],
        "convert": ["convert", f, "-o", out, "--dtype", "float32"],
        "take": ["take", f, aux, "-o", out],
        "mask": ["mask", f, aux, "-o", out],
        "concat": ["concat", f, f, "-o", out],
        "histogram": ["histogram", f, "--bins", "100", "--json"],
        "scan": ["scan", "cumsum", f, "-o", out],
        "quantile": ["quantile", f, "--q", ",".join(map(str, QUANTILE_Q)), "--json"],
        "unique": ["unique", f, "-o", out, "--counts", f"{out}.counts.npy"],
    }[job]
    # `stats` writes no file, so it has no --force.
    force = [] if job == "stats" else ["--force"]
    return [str(binary)] + base + ["--quiet"] + force + list(extra)


SUBCOMMAND = {"sum": "reduce", "stats": "stats", "eval": "eval", "sort": "sort",
              "argsort": "argsort", "transpose": "transpose", "convert": "convert",
              "sort-nosync": "sort", "sort-ext": "sort", "argsort-ext": "argsort",
              "take": "take", "mask": "mask", "concat": "concat",
              "histogram": "histogram", "scan": "scan", "quantile": "quantile",
              "unique": "unique"}
WRITES_FILE = {"eval", "sort", "argsort", "transpose", "convert", "sort-nosync", "sort-ext",
               "argsort-ext", "take", "mask", "concat", "scan", "unique"}
NO_DASK = {"sort": "dask: no sort", "argsort": "dask: no argsort",
           "sort-nosync": "dask: no sort", "sort-ext": "dask: no sort",
           "argsort-ext": "dask: no argsort",
           "take": "dask: x[idx] by a random permutation shuffles every chunk (not run)",
           "quantile": "dask: percentile is approximate", "unique": "dask: no out-of-core unique"}
# What NumPy's side of a job writes: synced (like outcore's default) or not (like --no-sync).
NUMPY_SYNCS = {"sort", "argsort", "sort-ext", "argsort-ext", "take", "mask", "concat", "scan", "unique"}


def job_extra(job, size):
    """Extra outcore arguments of a job: the external sorts get a budget of 1/8 of the data."""
    if job in ("sort-ext", "argsort-ext"):
        return ["--mem", str(max(1 << 20, size // 8))]
    return []


def run_floor(side, f, out, nbytes, timeout):
    """One run of a floor: a dd of the job's size, timed as a whole process, or NumPy's
    in-memory sort of the input, timed inside its process (the load is not counted)."""
    if side.engine == "numpy-sort":
        rc, so, se, secs, timed_out = run_process([sys.executable, "-c", NUMPY_SORT_FLOOR, f],
                                                  timeout)
        if timed_out:
            return side.fail(f"timed out after {timeout:g} s")
        if rc != 0:
            return side.fail(": ".join(x for x in (describe_exit(rc), first_line(se)) if x))
        try:
            side.times.append(float(so.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            return side.fail(f"no time in its output: {first_line(so)!r}")
        side.process_times.append(secs)
        return
    block = 16 << 20
    count = max(1, -(-nbytes // block))
    if side.engine == "read-cached":
        cmd = ["dd", f"if={f}", "of=/dev/null", f"bs={block}"]
    else:
        remove(out)
        sync()
        cmd = ["dd", "if=/dev/zero", f"of={out}", f"bs={block}", f"count={count}"]
        if side.engine == "write-fsync":
            cmd.append("conv=fsync")
    rc, so, se, secs, timed_out = run_process(cmd, timeout)
    if timed_out:
        return side.fail(f"timed out after {timeout:g} s")
    if rc != 0:
        return side.fail(": ".join(x for x in (describe_exit(rc), first_line(se)) if x))
    side.times.append(secs)
    side.process_times.append(secs)
    if out:
        remove(out)

_available = {}


def subcommand_available(binary, sub):
    if sub not in _available:
        try:
            r = subprocess.run([str(binary), sub, "--help"], capture_output=True, text=True,
                               timeout=60)
            _available[sub] = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _available[sub] = False
    return _available[sub]


class Side:
    def __init__(self, engine):
        self.engine = engine
        self.status = "ok"  # ok | unavailable | failed
        self.message = ""
        self.times = []  # timed seconds (outcore: whole process; others: the job)
        self.process_times = []  # whole process, every side
        self.result = None  # sum/stats value, from the last run
        self.output = None  # output file of the last run

    def fail(self, message):
        if self.status == "ok":
            self.status, self.message = "failed", message

    @property
    def median(self):
        return statistics.median(self.times) if self.status == "ok" and self.times else None

    def to_json(self, nbytes):
        m = self.median
        return {"status": self.status, "message": self.message, "times_s": self.times,
                "median_s": m, "gbps": (nbytes / 1e9 / m) if m else None,
                "process_times_s": self.process_times,
                "process_median_s": statistics.median(self.process_times)
                if self.status == "ok" and self.process_times else None}


def run_outcore(side, job, binary, f, out, extra, timeout, aux=None):
    if out:
        remove(out)
    sync()
    cmd = outcore_cmd(job, binary, f, out, extra, aux)
    rc, so, se, secs, timed_out = run_process(cmd, timeout)
    if timed_out:
        return side.fail(f"timed out after {timeout:g} s")
    if rc != 0:
        why = first_line(se) or first_line(so)
        return side.fail(": ".join(x for x in (describe_exit(rc), why) if x))
    side.times.append(secs)
    side.process_times.append(secs)
    if job in ("sum", "stats", "histogram", "quantile"):
        try:
            side.result = json.loads(so)
        except ValueError:
            return side.fail(f"output is not JSON: {first_line(so)!r}")
    side.output = out


def run_python(side, job, f, out, timeout, preexec_fn=None, aux=None):
    if out:
        remove(out)
    sync()
    spec = {"job": job, "engine": side.engine, "input": str(f), "output": out and str(out),
            "aux": aux and str(aux)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_worker", json.dumps(spec)]
    rc, so, se, secs, timed_out = run_process(cmd, timeout, preexec_fn=preexec_fn)
    if timed_out:
        side.fail(f"timed out after {timeout:g} s")
        return rc
    if rc != 0:
        side.fail(": ".join(x for x in (describe_exit(rc), first_line(se)) if x))
        return rc
    try:
        rep = json.loads(so.strip().splitlines()[-1])
    except (ValueError, IndexError):
        side.fail(f"unexpected worker output: {first_line(so)!r} {first_line(se)}")
        return rc
    side.times.append(rep["seconds"])
    side.process_times.append(secs)
    side.result = rep.get("result")
    side.output = out
    return rc


# --------------------------------------------------------------------------------------------
# Verification (after timing; chunked, so it never needs the whole arrays in memory)


def as_float(v):
    return float(v) if not isinstance(v, str) else float({"nan": "nan", "inf": "inf",
                                                            "-inf": "-inf"}.get(v, v))


def close(a, b, rel=1e-9):
    a, b = as_float(a), as_float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


def verify_values(job, got, ref):
    if job == "histogram":
        ok = got.get("counts") == ref["counts"] and [as_float(x) for x in got.get("edges", [])] == ref["edges"]
        return (True, "") if ok else (False, "counts or edges differ")
    if job == "quantile":
        v = [as_float(x) for x in got.get("value", [])]
        return (True, "") if v == ref else (False, f"quantiles {v} vs numpy {ref!r}")
    if job == "sum":
        v = got.get("value") if isinstance(got, dict) else got
        return (True, "") if close(v, ref) else (False, f"sum {v} vs numpy {ref!r}")
    bad = []
    for key in ("count", "sum", "mean", "std", "min", "max", "nan_count"):
        if key not in got:
            bad.append(f"{key} missing")
        elif key in ("count", "nan_count"):
            if int(got[key]) != int(ref[key]):
                bad.append(f"{key} {got[key]} vs numpy {ref[key]}")
        elif not close(got[key], ref[key]):
            bad.append(f"{key} {got[key]} vs numpy {ref[key]!r}")
    return (not bad, "; ".join(bad))


def compare_npy(path, ref_path):
    """Exact comparison (NaNs equal) of two .npy files; returns (ok, message)."""
    import numpy as np
    try:
        a = np.load(path, mmap_mode="r")
    except Exception as e:
        return False, f"cannot read outcore's output: {e}"
    b = np.load(ref_path, mmap_mode="r")
    if a.dtype != b.dtype:
        return False, f"dtype {a.dtype.str} vs numpy {b.dtype.str}"
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs numpy {b.shape}"
    nan_ok = a.dtype.kind in "fc"
    if not (a.flags.c_contiguous and b.flags.c_contiguous):
        ok = np.array_equal(np.asarray(a), np.asarray(b), equal_nan=nan_ok)
        return (True, "") if ok else (False, "values differ")
    af, bf = a.reshape(-1), b.reshape(-1)
    for s in _np_chunks(af.size, max(1, a.itemsize)):
        x, y = np.asarray(af[s]), np.asarray(bf[s])
        if not np.array_equal(x, y, equal_nan=nan_ok):
            diff = x != y
            if nan_ok:
                diff &= ~(np.isnan(x) & np.isnan(y))
            i = int(np.flatnonzero(diff)[0])
            return False, (f"first difference at flat index {s.start + i}: "
                           f"{x[i].item()!r} vs numpy {y[i].item()!r}")
    return True, ""


# --------------------------------------------------------------------------------------------
# Inputs


def gen_randint(path, n):
    """int64 randint(0, UNIQUE_DISTINCT), written in chunks (the `unique` input)."""
    import numpy as np
    from numpy.lib.format import open_memmap
    rng = np.random.default_rng(2)
    o = open_memmap(str(path), mode="w+", dtype=np.int64, shape=(n,))
    for s in _np_chunks(n, 8):
        o[s] = rng.integers(0, UNIQUE_DISTINCT, s.stop - s.start)
    o.flush()
    del o


def gen_input(binary, path, shape, timeout, have_gen):
    shape_s = ",".join(str(d) for d in shape)
    if have_gen:
        cmd = [str(binary), "gen", str(path), "--dtype", "float64", "--shape", shape_s,
               "--fill", "random", "--seed", "1", "--quiet", "--force"]
        rc, so, se, secs, timed_out = run_process(cmd, timeout)
        if rc == 0 and not timed_out:
            return f"outcore gen ({secs:.2f} s)"
        warn(f"outcore gen failed ({describe_exit(rc)}: {first_line(se)}); using NumPy")
    import numpy as np
    from numpy.lib.format import open_memmap
    rng = np.random.default_rng(1)
    o = open_memmap(str(path), mode="w+", dtype=np.float64, shape=tuple(shape))
    flat = o.reshape(-1)
    for s in _np_chunks(flat.size, 8):
        flat[s] = rng.random(s.stop - s.start)
    o.flush()
    del o, flat
    return "NumPy (outcore gen not available in this build)"


def aux_input(binary, job, f1, tmp, timeout):
    """The second input of `take` (an int64 random permutation of f1's length) or `mask` (bool,
    `x < 0.5`), made with outcore where it can, else with NumPy; returns (path, how)."""
    import numpy as np
    from numpy.lib.format import open_memmap
    path = tmp / f"{job}-aux.npy"
    if job == "take":
        cmd = [str(binary), "argsort", str(f1), "-o", str(path), "--quiet", "--force"]
    else:
        cmd = [str(binary), "eval", "x < 0.5", "-o", str(path), f"x={f1}", "--quiet", "--force"]
    if subcommand_available(binary, cmd[1]):
        rc, so, se, secs, timed_out = run_process(cmd, timeout)
        if rc == 0 and not timed_out:
            return path, f"outcore {cmd[1]} ({secs:.2f} s)"
        warn(f"outcore {cmd[1]} failed ({describe_exit(rc)}: {first_line(se)}); using NumPy")
    a = np.load(f1, mmap_mode="r")
    if job == "take":
        o = open_memmap(str(path), mode="w+", dtype=np.int64, shape=a.shape)
        o[:] = np.random.default_rng(2).permutation(a.shape[0])
    else:
        o = open_memmap(str(path), mode="w+", dtype=np.bool_, shape=a.shape)
        for s in _np_chunks(a.shape[0], 8):
            o[s] = a[s] < 0.5
    o.flush()
    del o
    return path, "NumPy"


def cached_pages(path):
    """(pages of the file in the page cache, pages of the file), asked by mincore(2) on a fresh
    read-only mapping; None where that cannot be asked (no libc through ctypes, not Linux)."""
    size = os.path.getsize(path)
    page = os.sysconf("SC_PAGE_SIZE")
    pages = -(-size // page)
    if size == 0:
        return 0, 0
    try:
        import ctypes
        import mmap
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    except (OSError, AttributeError, ImportError):
        return None
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr is None or addr == ctypes.c_void_p(-1).value:
            return None
        try:
            state = ctypes.create_string_buffer(pages)
            if libc.mincore(addr, size, state) != 0:
                return None
            return sum(b & 1 for b in state.raw), pages
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)


def warm(path, always=False):
    """Puts a file in the page cache as a file read from disk in one sequential pass, the
    same state for every side: dropped from the cache (POSIX_FADV_DONTNEED) and read back
    whole when `always`, when any page of it is not cached, or when that cannot be asked;
    otherwise only read once more (which also keeps it recently used).

    How the pages came into the cache decides how fast every mapping scans them: read in whole
    they sit in large folios (up to 2 MiB); written through a mapping (as `outcore gen` makes
    the inputs), or filled in piecemeal after this VM paged part of the file out, they sit in
    4 KiB folios, and outcore's and NumPy's cached 2 GiB sums each took 0.03-0.10 s longer."""
    got = cached_pages(path)
    fd = os.open(path, os.O_RDONLY)
    try:
        if always or got is None or got[0] < got[1]:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        with os.fdopen(os.dup(fd), "rb", buffering=0) as fh:
            buf = bytearray(8 << 20)
            while fh.readinto(buf):
                pass
    finally:
        os.close(fd)


def data_bytes(path):
    import numpy as np
    a = np.load(path, mmap_mode="r")
    return int(a.nbytes), tuple(a.shape)


# --------------------------------------------------------------------------------------------
# Machine information


def meminfo(key):
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def usable_cpus():
    """CPUs this process may run on (what outcore's thread pool sizes itself by)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def fs_type(path):
    best, kind = "", "?"
    try:
        p = os.path.realpath(path)
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3:
                    mnt = parts[1].replace("\\040", " ")
                    if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                        best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def machine_info(binary, workdir):
    import numpy as np
    try:
        import dask
        dask_version = dask.__version__
    except Exception:
        dask_version = None
    try:
        ver = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        ver = "?"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "kernel": platform.release(),
        "cpu": cpu_model(),
        "nproc": usable_cpus(),
        "cpu_count": os.cpu_count(),
        "mem_total_bytes": meminfo("MemTotal"),
        "mem_available_bytes": meminfo("MemAvailable"),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "numpy": np.__version__,
        "dask": dask_version,
        "outcore": ver,
        "outcore_path": str(binary),
        "dir": str(workdir),
        "dir_fs": fs_type(workdir),
    }


# --------------------------------------------------------------------------------------------
# The out-of-memory demonstration (cgroup v1 memory controller; v2 as a fallback)


class MemCgroup:
    def __init__(self, limit):
        self.limit, self.path, self.version = limit, None, None

    def __enter__(self):
        name = f"outcore-compare-{os.getpid()}-{time.monotonic_ns()}"
        v1 = Path("/sys/fs/cgroup/memory")
        v2 = Path("/sys/fs/cgroup")
        if os.geteuid() != 0:
            raise RuntimeError("not root (creating a memory cgroup needs root)")
        if v1.is_dir() and os.access(v1, os.W_OK):
            self.path, self.version = v1 / name, 1
            self.path.mkdir()
            try:
                (self.path / "memory.limit_in_bytes").write_text(str(self.limit))
            except OSError:
                self.path.rmdir()
                raise
            for knob, value in (("memory.memsw.limit_in_bytes", self.limit),
                                ("memory.swappiness", 0)):
                try:
                    (self.path / knob).write_text(str(value))
                except OSError:
                    pass
        elif (v2 / "cgroup.controllers").is_file() and \
                "memory" in (v2 / "cgroup.controllers").read_text().split():
            self.path, self.version = v2 / name, 2
            self.path.mkdir()
            try:
                (self.path / "memory.max").write_text(str(self.limit))
            except OSError:
                self.path.rmdir()
                raise
            try:
                (self.path / "memory.swap.max").write_text("0")
            except OSError:
                pass
        else:
            raise RuntimeError("no writable memory cgroup controller "
                               "(/sys/fs/cgroup/memory or cgroup v2 memory)")
        return self

    def join(self):
        """preexec_fn: moves the child (before exec) into the cgroup."""
        procs = str(self.path / "cgroup.procs")

        def fn():
            with open(procs, "w") as fh:
                fh.write(str(os.getpid()))
        return fn

    def oom_kills(self):
        try:
            name = "memory.oom_control" if self.version == 1 else "memory.events"
            for line in (self.path / name).read_text().splitlines():
                k, _, v = line.partition(" ")
                if k == "oom_kill":
                    return int(v)
        except (OSError, ValueError):
            pass
        return None

    def __exit__(self, *exc):
        if self.path is not None:
            for _ in range(50):
                try:
                    self.path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.1)
            else:
                warn(f"could not remove the cgroup {self.path}")
        return False


def oom_demo(args, binary, tmp, f1, f1_bytes):
    import numpy as np
    budget = args.oom_demo
    log("")
    log(f"== out-of-memory demo: np.sort vs outcore sort under a {fmt_bytes(budget)} "
        "memory cgroup ==")
    if budget <= (32 << 20):
        log("skipped: the budget must be above 32 MiB (outcore sort gets BUDGET-16M)")
        return {"status": "skipped", "why": "budget too small"}
    # The probe fails early (and cleanly) where cgroups cannot be used.
    try:
        with MemCgroup(budget):
            pass
    except (RuntimeError, OSError) as e:
        log(f"skipped: {e}")
        return {"status": "skipped", "why": str(e)}
    # A file at least twice the budget, so that NumPy's in-memory sort cannot fit.
    f = f1
    want = 2 * budget
    if f is None or f1_bytes < want:
        f = tmp / "oom-input.npy"
        n = want // 8
        how = gen_input(binary, f, (n,), args.timeout, subcommand_available(binary, "gen"))
        log(f"input: {fmt_bytes(n * 8)} float64 (2x the budget), made by {how}")
    else:
        log(f"input: the sort input, {fmt_bytes(f1_bytes)} "
            f"({f1_bytes / budget:.1f}x the budget)")
    warm(f)
    rep = {"status": "ran", "budget_bytes": budget, "input": str(f)}

    side = Side("numpy")
    with MemCgroup(budget) as cg:
        rc = run_python(side, "sort", f, tmp / "oom-numpy.npy", args.timeout, preexec_fn=cg.join())
        kills = cg.oom_kills()
    remove(tmp / "oom-numpy.npy")
    if side.status == "ok":
        verdict = f"finished in {side.times[0]:.2f} s (it fit in the budget; pick a smaller one)"
    else:
        verdict = side.message
        if rc is not None and rc in (-signal.SIGKILL, 137):
            verdict = "killed by SIGKILL (the OOM killer), as expected"
    if kills is not None:
        verdict += f"; cgroup oom_kill count: {kills}"
    log(f"numpy    np.save(OUT, np.sort(np.load(F, mmap_mode='r'))): {verdict}")
    rep["numpy"] = {"status": side.status, "message": verdict, "rc": rc}

    if not subcommand_available(binary, "sort"):
        log(f"outcore  sort --mem {fmt_bytes(budget - (16 << 20))}: not available in this build")
        rep["outcore"] = {"status": "unavailable"}
        return rep
    out = tmp / "oom-outcore.npy"
    mem = budget - (16 << 20)
    cmd = outcore_cmd("sort", binary, str(f), str(out),
                      ["--mem", str(mem), "--tmp-dir", str(tmp)] + list(args.outcore_arg))
    with MemCgroup(budget) as cg:
        sync()
        rc, so, se, secs, timed_out = run_process(cmd, args.timeout, preexec_fn=cg.join())
    if timed_out or rc != 0:
        msg = f"timed out after {args.timeout:g} s" if timed_out else \
            ": ".join(x for x in (describe_exit(rc), first_line(se)) if x)
        log(f"outcore  sort --mem {fmt_bytes(mem)}: FAILED, {msg}")
        rep["outcore"] = {"status": "failed", "message": msg}
        remove(out)
        return rep
    # Check: sorted, same length and sum; exact against np.sort when that fits in memory here.
    ok, why = True, ""
    a = np.load(out, mmap_mode="r")
    src = np.load(f, mmap_mode="r")
    avail = meminfo("MemAvailable") or 0
    if a.shape != src.shape or a.dtype != src.dtype:
        ok, why = False, f"shape/dtype {a.shape} {a.dtype} vs {src.shape} {src.dtype}"
    elif 3 * src.nbytes < avail:
        ref = tmp / "oom-ref.npy"
        np.save(ref, np.sort(src))
        ok, why = compare_npy(out, ref)
        remove(ref)
    else:
        prev, total = None, 0.0
        for s in _np_chunks(a.size, 8):
            x = np.asarray(a[s])
            if (x.size > 1 and np.any(x[1:] < x[:-1])) or \
                    (prev is not None and x.size and x[0] < prev):
                ok, why = False, f"not sorted near index {s.start}"
                break
            prev = x[-1] if x.size else prev
            total += float(x.sum())
        if ok and not close(total, float(src.sum()), 1e-9):
            ok, why = False, "sum differs from the input's"
    remove(out)
    log(f"outcore  sort --mem {fmt_bytes(mem)}: finished in {secs:.2f} s, "
        f"{'VERIFIED' if ok else 'MISMATCH: ' + why}")
    rep["outcore"] = {"status": "ok", "seconds": secs, "verified": ok, "message": why}
    return rep


# --------------------------------------------------------------------------------------------
# Main


def find_binary(args):
    if args.outcore:
        b = Path(args.outcore)
        if not b.is_file():
            sys.exit(f"error: --outcore {b}: no such file")
        return b.resolve()
    b = REPO / "target" / "release" / "outcore"
    if not b.is_file():
        log(f"{b} is missing: cargo build --release …")
        r = subprocess.run(["cargo", "build", "--release"], cwd=REPO)
        if r.returncode != 0 or not b.is_file():
            sys.exit("error: cargo build --release failed; pass --outcore PATH")
    return b


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Compare outcore with NumPy and Dask on the same .npy files.")
    p.add_argument("--size", type=parse_bytes, default=parse_bytes("1G"),
                   help="bytes of each input file, e.g. 64M, 1G, 8GiB (default 1G)")
    p.add_argument("--dir", help="where the temporary files go (default: the system temp dir)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each side (default 3)")
    p.add_argument("--outcore", help="the outcore binary (default target/release/outcore)")
    p.add_argument("--jobs", default=",".join(ALL_JOBS),
                   help=f"comma-separated subset of {','.join(ALL_JOBS)} (default all)")
    p.add_argument("--json", help="write all medians, times and ratios to this file")
    p.add_argument("--timeout", type=float, default=1200,
                   help="seconds allowed to each run (default 1200)")
    p.add_argument("--oom-demo", type=parse_bytes, metavar="BUDGET",
                   help="also run np.sort and outcore sort --mem BUDGET-16M in a memory "
                        "cgroup limited to BUDGET (needs root)")
    p.add_argument("--outcore-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for every timed outcore run (repeatable), "
                        "e.g. --outcore-arg=--threads=4")
    p.add_argument("--no-dask", action="store_true", help="NumPy only")
    p.add_argument("--skip-unavailable", action="store_true",
                   help="do not run NumPy/Dask for jobs the outcore binary lacks")
    p.add_argument("--venv", help="virtualenv to use/create when numpy or dask is missing "
                                  "(default .venv-bench in the repo root, or under --dir)")
    args = p.parse_args(argv)
    jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    if jobs == ["all"]:
        jobs = list(ALL_JOBS)
    unknown = [j for j in jobs if j not in ALL_JOBS]
    if unknown:
        p.error(f"unknown job(s) {','.join(unknown)}; choose from {','.join(ALL_JOBS)}")
    args.jobs = list(dict.fromkeys(jobs))
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    if args.size < 64:
        p.error("--size is too small")
    return args


def measure_floors(args, f, tmp, nbytes):
    """The machine's floors for --size bytes, alternating like the jobs; medians in s."""
    log("[floors] dd of the input's data size: durable write (conv=fsync), page-cache write, "
        "cached read of the input; NumPy's in-place sort of its values in memory (one core)")
    sides = {e: Side(e) for e in FLOOR_SIDES}
    out = str(tmp / "floor.bin")
    for r in range(args.repeat):
        for e in (FLOOR_SIDES if r % 2 == 0 else FLOOR_SIDES[::-1]):
            warm(f)
            run_floor(sides[e], str(f), out if e.startswith("write") else None, nbytes,
                      args.timeout)
            s = sides[e]
            log(f"  run {r + 1}/{args.repeat} {e:12s} " +
                (f"{s.times[-1]:8.3f} s" if s.status == "ok" else f"FAILED: {s.message}"))
    return {e: sides[e].median for e in FLOOR_SIDES}


def sort_targets(floors, sides_of):
    """Issue #25's sort targets from the medians of this run (None where a part is missing)."""
    def med(job, engine="outcore"):
        sides = sides_of.get(job)
        return sides[engine].median if sides else None

    def ratio(a, b):
        return a / b if a and b else None

    wf, rc = floors.get("write-fsync"), floors.get("read-cached")
    rows = [
        ("in memory --no-sync: numpy np.save(np.sort(a)) / outcore", ">= 3",
         ratio(med("sort-nosync", "numpy"), med("sort-nosync")), lambda r: r >= 3),
        ("in memory durable: numpy (np.save + fsync) / outcore", ">= 2",
         ratio(med("sort", "numpy"), med("sort")), lambda r: r >= 2),
        ("in memory durable: outcore / (durable write + cached read)", "<= 1.3",
         ratio(med("sort"), (wf + rc) if wf and rc else None), lambda r: r <= 1.3),
        ("external --mem 1/8: outcore / (2 cached reads + 2 durable writes)", "<= 1.3",
         ratio(med("sort-ext"), 2 * (wf + rc) if wf and rc else None), lambda r: r <= 1.3),
        ("external --mem 1/8: argsort / sort", "<= 2",
         ratio(med("argsort-ext"), med("sort-ext")), lambda r: r <= 2),
    ]
    if all(r is None for _, _, r, _ in rows):
        return None
    log("")
    log("sort targets (issue #25; medians of this run):")
    if floors:
        log("  floors: " + ", ".join(f"{e} {v:.3f} s" if v else f"{e} -"
                                     for e, v in floors.items()))
    # What the in-memory targets ask of the CPU: the times they allow, next to NumPy's own
    # sort of the same values spread perfectly over this machine's cores (no I/O at all).
    ns, nd, cpu = med("sort-nosync", "numpy"), med("sort", "numpy"), floors.get("numpy-sort")
    if cpu:
        threads = usable_cpus()
        allowed = [f"--no-sync >= 3x: {ns / 3:.3f} s" if ns else None,
                   f"durable >= 2x: {nd / 2:.3f} s" if nd else None,
                   f"durable <= 1.3x floors: {1.3 * (wf + rc):.3f} s" if wf and rc else None]
        log(f"  CPU: NumPy's in-memory sort alone {cpu:.3f} s on one core, {cpu / threads:.3f} s "
            f"if spread perfectly over {threads} threads; the targets allow outcore "
            + ", ".join(a for a in allowed if a))
    out = []
    for what, goal, r, ok in rows:
        verdict = "-" if r is None else ("MET" if ok(r) else "NOT MET")
        log(f"  {what:<68} {fmt_ratio(r):>7}  target {goal:<6} {verdict}")
        out.append({"target": what, "goal": goal, "value": r, "verdict": verdict})
    return out


def fmt_s(side):
    if side is None:
        return "-"
    if side.status == "unavailable":
        return "n/a"
    if side.status == "failed":
        return "FAILED"
    return f"{side.median:.3f}"


def fmt_gbps(side, nbytes):
    m = side.median if side else None
    return f"{nbytes / 1e9 / m:.2f}" if m else "-"


def fmt_ratio(r):
    return f"{r:.2f}x" if r is not None else "-"


def main(argv):
    if argv[:1] == ["--_worker"]:
        return worker_main(json.loads(argv[1]))
    args = parse_args(argv)
    env_note = ensure_environment(args)  # may re-exec into .venv-bench
    import numpy as np  # noqa: F401

    have_dask = not args.no_dask and dask_array_importable()
    if not have_dask and not args.no_dask and not env_note:
        env_note = "dask[array] is not importable: NumPy only"
    binary = find_binary(args)
    if args.dir:
        Path(args.dir).mkdir(parents=True, exist_ok=True)
    base = Path(args.dir or tempfile.gettempdir()).resolve()
    info = machine_info(binary, base)

    log("outcore vs NumPy vs Dask — same files; inputs in the page cache as read from disk in one "
        "pass, read again before every (untimed) run: every side sees the same warm cache")
    log(f"date {info['date']}  host {info['host']}  kernel {info['kernel']}")
    log(f"cpu {info['cpu']}  nproc {info['nproc']}  memory "
        f"{fmt_bytes(info['mem_total_bytes'] or 0)} (available "
        f"{fmt_bytes(info['mem_available_bytes'] or 0)})")
    log(f"python {info['python']} ({info['python_executable']})  numpy {info['numpy']}  "
        f"dask {info['dask'] if have_dask else 'not used'}  {info['outcore']} ({binary})")
    log(f"dir {base} ({info['dir_fs']})  size {fmt_bytes(args.size)}  repeat {args.repeat}  "
        f"timeout {args.timeout:.0f} s/run")
    if info["dir_fs"] in ("tmpfs", "ramfs"):
        log("note: --dir is in memory (tmpfs): file writes cost memory copies, not disk")
    if env_note:
        log(f"note: {env_note}")
    log("timing: outcore = whole CLI process (start-up included); numpy/dask = the job inside "
        "an already started Python (imports excluded); ratio = other_s / outcore_s (> 1: "
        "outcore faster); GB/s = input data bytes / 1e9 / s")
    log("outputs: outcore fsyncs its output files (not with --no-sync); NumPy's sorts add "
        "os.fsync (not sort-nosync); memmap.flush() msyncs; `sync` (untimed) runs before every run")

    n1 = max(1, args.size // 8)
    side2 = max(1, math.isqrt(args.size // 8))
    need1 = any(j != "transpose" for j in args.jobs) or args.oom_demo
    need2 = "transpose" in args.jobs
    mem_avail = meminfo("MemAvailable") or 0
    if mem_avail and args.size * 3 > mem_avail and any(
            j in args.jobs for j in ("stats", "sort", "argsort")):
        warn(f"--size {fmt_bytes(args.size)} is large for the {fmt_bytes(mem_avail)} of "
             "available memory: NumPy's in-memory jobs (stats, sort, argsort) may fail or swap")
    try:
        free = shutil.disk_usage(base).free
        need_disk = args.size * (int(need1) + int(need2) + 4)
        if free < need_disk:
            warn(f"{base} has {fmt_bytes(free)} free; this run may need about "
                 f"{fmt_bytes(need_disk)}")
    except OSError:
        pass

    results = {"machine": info, "size_bytes": args.size, "repeat": args.repeat,
               "env_note": env_note, "jobs": []}
    have_gen = subcommand_available(binary, "gen")
    with tempfile.TemporaryDirectory(prefix="outcore-compare-", dir=str(base)) as tmpname:
        tmp = Path(tmpname)
        inputs = {}
        if need1:
            f1 = tmp / "input-1d.npy"
            how = gen_input(binary, f1, (n1,), args.timeout, have_gen)
            inputs[1] = (f1,) + data_bytes(f1)
            log(f"input 1-d: float64 [{n1}] = {fmt_bytes(inputs[1][1])}, made by {how}")
        if "unique" in args.jobs:
            f3 = tmp / "input-randint.npy"
            gen_randint(f3, max(1, args.size // 8))
            inputs[3] = (f3,) + data_bytes(f3)
            log(f"input randint: int64 [{inputs[3][2][0]}] = {fmt_bytes(inputs[3][1])}, "
                f"values in [0, {UNIQUE_DISTINCT})")
        if need2:
            f2 = tmp / "input-2d.npy"
            how = gen_input(binary, f2, (side2, side2), args.timeout, have_gen)
            inputs[2] = (f2,) + data_bytes(f2)
            log(f"input 2-d: float64 [{side2},{side2}] = {fmt_bytes(inputs[2][1])}, made by {how}")
        sync()
        for k in inputs:
            warm(inputs[k][0], always=True)
        log("")

        aux = {}
        for job in ("take", "mask"):
            if job in args.jobs and subcommand_available(binary, SUBCOMMAND[job]):
                aux[job], how = aux_input(binary, job, inputs[1][0], tmp, args.timeout)
                log(f"{job} input: {aux[job].name}, made by {how}")
                sync()
                warm(aux[job], always=True)

        rows = []
        floors = {}
        for job in args.jobs:
            f, nbytes, shape = inputs[{"transpose": 2, "unique": 3}.get(job, 1)]
            if job == "floors":
                floors = measure_floors(args, f, tmp, nbytes)
                results["floors"] = floors
                continue
            sides = {e: Side(e) for e in ENGINES}
            notes = []
            if not subcommand_available(binary, SUBCOMMAND[job]):
                sides["outcore"].status = "unavailable"
                sides["outcore"].message = "not available in this build"
                notes.append(f"outcore: not available in this build (no "
                             f"'{SUBCOMMAND[job]}' subcommand)")
            if job in NO_DASK:
                sides["dask"].status = "unavailable"
                sides["dask"].message = NO_DASK[job]
                notes.append(NO_DASK[job])
            elif not have_dask:
                sides["dask"].status = "unavailable"
                sides["dask"].message = "dask not installed"
            if args.skip_unavailable and sides["outcore"].status == "unavailable":
                for e in ("numpy", "dask"):
                    if sides[e].status == "ok":
                        sides[e].status, sides[e].message = "unavailable", "skipped"
            log(f"[{job}] {', '.join(notes)}" if notes else f"[{job}]")
            outs = {e: (str(tmp / f"{job}-{e}.npy") if job in WRITES_FILE else None)
                    for e in ENGINES}
            for r in range(args.repeat):
                order = ENGINES if r % 2 == 0 else ENGINES[::-1]
                for e in order:
                    s = sides[e]
                    if s.status != "ok":
                        continue
                    # Untimed: this VM pages out file pages left idle for about a minute.
                    warm(f)
                    if job in aux:
                        warm(aux[job])
                    a2 = str(aux[job]) if job in aux else None
                    if e == "outcore":
                        run_outcore(s, job, binary, str(f), outs[e],
                                    args.outcore_arg + job_extra(job, nbytes), args.timeout, a2)
                    else:
                        run_python(s, job, str(f), outs[e], args.timeout, aux=a2)
                    if s.status == "ok":
                        log(f"  run {r + 1}/{args.repeat} {e:8s} {s.times[-1]:8.3f} s")
                    else:
                        log(f"  run {r + 1}/{args.repeat} {e:8s} FAILED: {s.message}")
            # Verification: outcore against NumPy (Dask's output when NumPy failed).
            oc = sides["outcore"]
            ref = sides["numpy"] if sides["numpy"].status == "ok" else (
                sides["dask"] if sides["dask"].status == "ok" else None)
            if oc.status == "unavailable":
                verified, vmsg = "n/a", ""
            elif oc.status != "ok":
                verified, vmsg = "FAILED", oc.message
            elif ref is None:
                verified, vmsg = "no reference", "neither NumPy nor Dask finished"
            else:
                try:
                    if job in WRITES_FILE:
                        ok, vmsg = compare_npy(oc.output, ref.output)
                        if ok and job == "unique":
                            ok, vmsg = compare_npy(oc.output + ".counts.npy",
                                                   ref.output + ".counts.npy")
                    else:
                        ok, vmsg = verify_values(job, oc.result, ref.result)
                except Exception as ex:  # a broken output must not stop the other jobs
                    ok, vmsg = False, f"check failed: {ex}"
                verified = "VERIFIED" if ok else "MISMATCH"
            if verified in ("VERIFIED", "MISMATCH"):
                log(f"  {verified}" + (f": {vmsg}" if vmsg else "") +
                    f" (outcore against {ref.engine})")
            for e in ENGINES:
                if outs[e]:
                    remove(outs[e])
                    remove(outs[e] + ".counts.npy")
            om = oc.median
            ratio = {e: (sides[e].median / om if om and sides[e].median else None)
                     for e in ("numpy", "dask")}
            rows.append((job, nbytes, sides, ratio, verified))
            results["jobs"].append({
                "job": job, "input": {"shape": list(shape), "dtype": "<i8" if job == "unique" else "<f8",
                          "bytes": nbytes},
                "outcore_cmd": " ".join(outcore_cmd(job, "outcore", "F" if job != "transpose"
                                                    else "M", "OUT",
                                                    args.outcore_arg + job_extra(job, nbytes),
                                                    "AUX")),
                "numpy_fsyncs": job in NUMPY_SYNCS,
                **{e: sides[e].to_json(nbytes) for e in ENGINES},
                "ratio_numpy_over_outcore": ratio["numpy"],
                "ratio_dask_over_outcore": ratio["dask"],
                "verified": verified, "verify_message": vmsg,
            })

        # The table
        log("")
        head = (f"{'job':<10} {'MiB':>7} {'outcore s':>10} {'GB/s':>6} {'numpy s':>9} "
                f"{'GB/s':>6} {'dask s':>8} {'GB/s':>6} {'np/oc':>7} {'dask/oc':>8}  verified")
        log(head)
        log("-" * len(head))
        for job, nbytes, sides, ratio, verified in rows:
            log(f"{job:<10} {nbytes / 2**20:7.0f} {fmt_s(sides['outcore']):>10} "
                f"{fmt_gbps(sides['outcore'], nbytes):>6} {fmt_s(sides['numpy']):>9} "
                f"{fmt_gbps(sides['numpy'], nbytes):>6} {fmt_s(sides['dask']):>8} "
                f"{fmt_gbps(sides['dask'], nbytes):>6} {fmt_ratio(ratio['numpy']):>7} "
                f"{fmt_ratio(ratio['dask']):>8}  {verified}")
        log("n/a: not available (outcore subcommand missing from this build, or no Dask "
            "equivalent); times are medians of the runs")
        for job, _, sides, _, _ in rows:
            for e in ENGINES:
                if sides[e].status == "failed":
                    log(f"  {job} {e}: {sides[e].message}")
        medians = {job: sides["outcore"].median for job, _, sides, _, _ in rows}
        if medians.get("take") and medians.get("sort"):
            r = medians["take"] / medians["sort"]
            log(f"take of a random permutation / sort of the same data: {r:.2f} "
                "(target: at most 2)")
            results["take_over_sort"] = r

        targets = sort_targets(floors, {job: sides for job, _, sides, _, _ in rows})
        if targets:
            results["sort_targets"] = targets

        if args.oom_demo:
            f1 = inputs.get(1)
            results["oom_demo"] = oom_demo(args, binary, tmp, f1[0] if f1 else None,
                                           f1[1] if f1 else 0)

    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
            fh.write("\n")
        log(f"\nwrote {args.json}")
    bad = any(j["verified"] in ("MISMATCH", "FAILED") for j in results["jobs"])
    return 1 if bad else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
