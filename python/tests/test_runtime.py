"""Errors, options, threads, Ctrl-C, progress, identity with the CLI, no copies, doctests."""

import doctest
import errno
import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import outcore
from conftest import make


# --- errors ----------------------------------------------------------------------------------


def test_missing_input_is_file_not_found(tmp):
    missing = tmp / "nope.npy"
    with pytest.raises(FileNotFoundError) as e:
        outcore.reduce("sum", missing)
    assert e.value.errno == errno.ENOENT
    assert "nope.npy" in str(e.value)
    with pytest.raises(FileNotFoundError):
        outcore.info(missing)
    with pytest.raises(FileNotFoundError):
        outcore.sort(str(missing), tmp / "s.npy")
    assert not (tmp / "s.npy").exists()


def test_existing_output_needs_force(tmp):
    a = np.arange(10)
    out = tmp / "o.npy"
    out.write_bytes(b"keep me")
    for job in [
        lambda **kw: outcore.sort(a, out, **kw),
        lambda **kw: outcore.transpose(a, out, **kw),
        lambda **kw: outcore.eval("x+1", out, {"x": a}, **kw),
        lambda **kw: outcore.gen(out, "f8", 3, **kw),
        lambda **kw: outcore.reduce("sum", a.reshape(2, 5), axis=0, out=out, **kw),
    ]:
        with pytest.raises(FileExistsError) as e:
            job()
        assert e.value.errno == errno.EEXIST
        assert out.read_bytes() == b"keep me"
    np.testing.assert_array_equal(outcore.sort(a[::-1], out, force=True), a)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda t, a: outcore.gen(t / "g.npy", "float99", 3), "float99"),
        (lambda t, a: outcore.convert(a, t / "c.npy", dtype="nope"), "nope"),
        (lambda t, a: outcore.reduce("sum", a, axis=5), "axis"),
        (lambda t, a: outcore.reduce("median-ish", a), "median-ish"),
        (lambda t, a: outcore.eval("x +* 2", t / "e.npy", {"x": a}), "x +* 2"),
        (lambda t, a: outcore.eval("z + 1", t / "e.npy", {"x": a}), "z"),
        (lambda t, a: outcore.slice(a, t / "s.npy", "1:2:0"), "step"),
        (lambda t, a: outcore.slice(a, t / "s.npy", (0, 0, 0)), "index"),
        (lambda t, a: outcore.reshape(a, t / "r.npy", (7, -1)), "shape"),
        (lambda t, a: outcore.transpose(a, t / "t.npy", (0, 0)), "ax"),
        (lambda t, a: outcore.sort(a, t / "s.npy", mem="1K"), ""),
        (lambda t, a: outcore.sort(np.zeros(3, complex), t / "s.npy"), "complex"),
        (lambda t, a: outcore.reduce("sum", a, mem="lots"), "lots"),
        (lambda t, a: outcore.reduce("sum", a, axis=(0, 1)), "axes"),
    ],
)
def test_bad_input_is_value_error_with_the_cli_message(tmp, call, words):
    a = np.arange(12.0).reshape(3, 4)
    with pytest.raises(ValueError) as e:
        call(tmp, a)
    assert words.lower() in str(e.value).lower()
    assert [p.name for p in tmp.iterdir()] == []


def test_unknown_keywords_and_wrong_types_are_type_errors(tmp):
    with pytest.raises(TypeError):
        outcore.reduce("sum", np.arange(3), axes=0)
    with pytest.raises(TypeError):
        outcore.sort(np.arange(3), tmp / "s.npy", quiet=True)
    with pytest.raises(TypeError):
        outcore.stats([1, 2, 3])
    with pytest.raises(TypeError):
        outcore.reduce("sum", np.arange(3), progress="yes")


def test_options_are_used(tmp):
    a = make("plain", "<f8", (1000, 50))
    first = None
    for opts in [dict(threads=1), dict(threads=3, mem="64M", chunk="64K"), dict(mem=32 << 20, chunk=4096)]:
        s = outcore.reduce("sum", a, **opts)
        np.testing.assert_allclose(s, a.sum(), rtol=1e-12)
        # Spec §9: the same bits whatever the threads, budget and chunks.
        first = s if first is None else first
        assert np.asarray(s).tobytes() == np.asarray(first).tobytes(), opts
        np.testing.assert_array_equal(outcore.sort(a, tmp / "s.npy", force=True, **opts), np.sort(a))
    with pytest.raises(ValueError):
        outcore.reduce("sum", a, threads=0)
    spill = tmp / "spill"
    spill.mkdir()
    big = make("plain", "<f8", (400_000,))
    s = outcore.sort(big, tmp / "big.npy", mem="2M", tmp_dir=spill, sync=False, flatten=True)
    np.testing.assert_array_equal(s, np.sort(big))
    assert list(spill.iterdir()) == []


def small_file_system(tmp):
    """A directory on a 1 MiB tmpfs (root may mount one), or None."""
    mnt = tmp / "small"
    mnt.mkdir()
    if os.geteuid() != 0:
        return None
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True)
    return mnt if r.returncode == 0 else None


def test_disk_full_is_enospc(tmp):
    mnt = small_file_system(tmp)
    if mnt is None:
        pytest.skip("cannot mount a small tmpfs to fill")
    try:
        a = np.ones(1 << 20)  # 8 MiB
        out = mnt / "o.npy"
        with pytest.raises(OSError) as e:
            outcore.convert(a, out)
        assert e.value.errno == errno.ENOSPC
        assert list(mnt.iterdir()) == []
        with pytest.raises(OSError) as e:
            outcore.sort(a, out)
        assert e.value.errno == errno.ENOSPC
        assert list(mnt.iterdir()) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


# --- threads, progress, Ctrl-C ---------------------------------------------------------------


class StopJob(Exception):
    pass


def test_two_threads_run_jobs_at_once(tmp):
    """A job runs while another thread's job starts and finishes: the GIL is released."""
    big = make("plain", "<f8", (4_000_000,))
    small = make("plain", "<i4", (100, 100))
    started, small_done = threading.Event(), threading.Event()
    outcome = {}

    def progress(done, total, phase):
        started.set()
        if small_done.is_set():
            raise StopJob()

    def long_job():
        try:
            outcore.sort(big, tmp / "big.npy", threads=1, chunk="64K", mem="4M", progress=progress)
            outcome["a"] = "finished"
        except StopJob:
            outcome["a"] = "stopped"

    t = threading.Thread(target=long_job)
    t.start()
    assert started.wait(60)
    np.testing.assert_array_equal(outcore.sort(small, tmp / "small.npy"), np.sort(small))
    assert outcore.reduce("sum", small) == small.sum()
    small_done.set()
    t.join(120)
    assert outcome["a"] == "stopped", "the long job ended before the other thread's job"
    # The callback's exception cancelled the job: nothing of it is left behind.
    assert sorted(p.name for p in tmp.iterdir()) == ["small.npy"]


def test_concurrent_jobs_give_right_results(tmp):
    arrays = [make("plain", "<f8", (200_000,), seed=i) for i in range(4)]
    results = {}

    def job(i):
        results[i] = np.array(outcore.sort(arrays[i], tmp / f"s{i}.npy", threads=2))

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, a in enumerate(arrays):
        np.testing.assert_array_equal(results[i], np.sort(a))


def test_progress_callable_gets_bytes_and_phases(tmp):
    a = make("plain", "<f8", (3_000_000,))
    calls = []
    outcore.reduce("sum", a, threads=1, chunk="64K", progress=lambda *c: calls.append(c))
    assert calls
    for done, total, phase in calls:
        assert type(done) is int and type(total) is int and isinstance(phase, str)
        assert 0 <= done <= total
    assert calls[-1][0] == calls[-1][1] == a.nbytes


def test_progress_bar_goes_to_stderr(tmp, capfd):
    a = make("plain", "<f8", (2_000_000,))
    outcore.sort(a, tmp / "s.npy", threads=1, chunk="64K", progress=True)
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err != ""


CTRL_C = textwrap.dedent(
    """
    import os, signal, sys, threading
    import numpy as np
    import outcore

    work, spill = sys.argv[1], sys.argv[2]
    a = np.random.default_rng(0).standard_normal(16_000_000)  # 128 MB: jobs of well over 50 ms
    fired = []

    def progress(done, total, phase):
        if not fired:
            fired.append(1)
            os.kill(os.getpid(), signal.SIGINT)

    def from_another_thread(done, total, phase):
        # As a terminal's Ctrl-C: the signal arrives while the main thread waits on the job.
        if not fired:
            fired.append(1)
            threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)).start()

    for job in ("sort", "eval", "transpose", "argsort"):
        fired.clear()
        try:
            if job == "argsort":
                outcore.argsort(a, os.path.join(work, "i.npy"), threads=1, chunk="64K",
                                progress=from_another_thread)
            elif job == "sort":
                outcore.sort(a, os.path.join(work, "s.npy"), threads=1, chunk="64K", mem="8M",
                             tmp_dir=spill, progress=progress)
            elif job == "eval":
                outcore.eval("sqrt(abs(x))", os.path.join(work, "e.npy"), {"x": a}, threads=1,
                             chunk="16K", progress=progress)
            else:
                outcore.transpose(a.reshape(4000, 4000), os.path.join(work, "t.npy"), threads=1,
                                  chunk="16K", progress=progress)
        except KeyboardInterrupt:
            print(job, "interrupted", flush=True)
        else:
            print(job, "finished", flush=True)
    assert a.flags.writeable
    print("alive")
    """
)


def test_ctrl_c_raises_keyboard_interrupt_and_leaves_nothing(tmp):
    work, spill = tmp / "work", tmp / "spill"
    work.mkdir()
    spill.mkdir()
    script = tmp / "ctrl_c.py"
    script.write_text(CTRL_C)
    p = subprocess.run(
        [sys.executable, str(script), str(work), str(spill)],
        capture_output=True, text=True, timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.split("\n")[:5] == [
        "sort interrupted", "eval interrupted", "transpose interrupted", "argsort interrupted", "alive",
    ], p.stdout + p.stderr
    assert list(work.iterdir()) == []
    assert list(spill.iterdir()) == []


# --- the same bytes as the CLI ---------------------------------------------------------------


def test_results_are_identical_to_the_cli(tmp, cli):
    arr = make("nan", "<f4", (300, 70), "F")
    src = tmp / "in.npy"
    np.save(src, arr)

    def run(*args):
        return subprocess.run([cli, *map(str, args)], capture_output=True, text=True, check=True).stdout

    cases = [
        (["sort", src, "-o", tmp / "c1.npy"], lambda o: outcore.sort(src, o)),
        (["argsort", src, "-o", tmp / "c2.npy", "--flatten"], lambda o: outcore.argsort(src, o, flatten=True)),
        (["eval", "x*2 + 1", "-o", tmp / "c3.npy", f"x={src}"], lambda o: outcore.eval("x*2 + 1", o, {"x": src})),
        (["transpose", src, "-o", tmp / "c4.npy"], lambda o: outcore.transpose(np.load(src, mmap_mode="r"), o)),
        (["slice", src, "-o", tmp / "c5.npy", "--index", "::-3, 5:"], lambda o: outcore.slice(src, o, np.s_[::-3, 5:])),
        (["convert", src, "-o", tmp / "c6.npy", "--dtype", "i2", "--byteorder", "big"],
         lambda o: outcore.convert(src, o, dtype=">i2")),
        (["reduce", "nanstd", src, "--axis", "0", "-o", tmp / "c7.npy"],
         lambda o: outcore.reduce("nanstd", src, axis=0, out=o)),
    ]
    for i, (args, job) in enumerate(cases):
        run(*args)
        mine = tmp / f"p{i}.npy"
        job(mine)
        assert (tmp / f"c{i + 1}.npy").read_bytes() == mine.read_bytes(), args
    for op in ["sum", "nanmean", "argmax", "max"]:
        j = json.loads(run("reduce", op, src, "--json"))
        got = outcore.reduce(op, src)
        assert j["dtype"] == got.dtype.str
        assert np.asarray(j["value"], dtype=got.dtype) == got or (np.isnan(got) and j["value"] == "nan")
    j = json.loads(run("stats", src, "--json"))
    s = outcore.stats(src)
    assert set(j) == set(s)
    assert j["count"] == s["count"] and j["nan_count"] == s["nan_count"]
    for k in ("sum", "mean", "std"):
        np.testing.assert_equal(np.float32(j[k]), np.float32(s[k]))
    assert json.loads(run("info", src, "--json")) == outcore.info(str(src))


# --- in-memory arrays are read in place ------------------------------------------------------


NO_COPY = textwrap.dedent(
    """
    import resource
    import numpy as np
    import outcore

    a = np.ones(64 << 20, dtype=np.float64)          # 512 MiB
    a[::1000] = 2.0
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    total = outcore.reduce("sum", a, mem="16M")
    s = outcore.stats(a, mem="16M")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert total == a.sum(), (total, a.sum())
    assert s["max"] == 2.0
    print((after - before) >> 20)
    """
)


def test_in_memory_arrays_are_not_copied(tmp):
    script = tmp / "no_copy.py"
    script.write_text(NO_COPY)
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    grew_mib = int(p.stdout.strip())
    assert grew_mib < 128, f"peak RSS grew by {grew_mib} MiB reading a 512 MiB array"


# --- docstrings ------------------------------------------------------------------------------


def test_docstring_examples():
    result = doctest.testmod(outcore, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 30
    assert result.failed == 0


def test_stubs_and_marker_are_installed():
    pkg = os.path.dirname(outcore.__file__)
    for name in ("py.typed", "__init__.pyi", "_core.pyi"):
        assert os.path.isfile(os.path.join(pkg, name)), name
