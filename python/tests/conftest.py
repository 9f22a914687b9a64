import os
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def outcore_binary():
    """The `outcore` command line built in this checkout (or named by $OUTCORE_BIN), if any."""
    env = os.environ.get("OUTCORE_BIN")
    if env:
        return env if Path(env).is_file() else None
    for profile in ("release", "debug"):
        p = REPO / "target" / profile / "outcore"
        if p.is_file():
            return str(p)
    return shutil.which("outcore")


@pytest.fixture
def cli():
    exe = outcore_binary()
    if exe is None:
        pytest.skip("the outcore binary is not built (cargo build --release)")
    return exe


def make(kind, dtype, shape, order="C", seed=0):
    """Test data of a dtype: random values with repeats, NaNs for floats."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "b":
        flat = rng.integers(0, 2, n).astype(dt)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        lo, hi = max(info.min, -1000), min(info.max, 1000)
        flat = rng.integers(lo, hi, n, endpoint=True).astype(dt)
    else:
        flat = (rng.standard_normal(n) * 100).astype(dt)
        if kind == "nan" and n > 3:
            flat[rng.choice(n, 3, replace=False)] = np.nan
    return np.asarray(flat.reshape(shape), order=order)


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
