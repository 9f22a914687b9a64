"""The README's Python example runs as written (in a scratch directory)."""

import os
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def python_blocks(text):
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def _has_dask():
    """Whether dask[distributed] is installed (under CI it must be: then this never skips)."""
    if os.environ.get("CI") == "true":
        return True
    try:
        import dask  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = python_blocks(README.read_text())
    assert blocks, "the README has no Python example"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        if "outcore.dask" in block and not _has_dask():
            print("SKIPPED the README's Dask example: dask[distributed] is not installed")
            continue
        namespace = {}
        exec(compile(block, str(README), "exec"), namespace)
    # The example's files were made and are what it says.
    import numpy as np

    a = np.load("a.npy", mmap_mode="r")
    s = np.load("sorted.npy", mmap_mode="r")
    assert np.array_equal(np.sort(a), s)
    assert np.allclose(np.load("r.npy"), np.sqrt(s * s + 1))
    assert os.path.exists("a.npy")
    if os.path.exists("sorted-dask.npy"):
        assert np.load("sorted-dask.npy").tobytes() == np.load("sorted.npy").tobytes()
