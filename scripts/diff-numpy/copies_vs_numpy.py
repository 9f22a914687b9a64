#!/usr/bin/env python3
"""Randomized differential tester: outcore sort/argsort/transpose/reshape/slice/convert/info vs NumPy.

usage: copies_vs_numpy.py --seconds N [--seed S] [--tag T]
Binary: $OUTCORE (default: target/release/outcore of this repository); work and failures
under $DIFF_NUMPY_DIR (default /tmp/outcore-diff-copies).
Each case: random array (dtype, byte order, C/F file order, 0-4 d, specials), random options,
run outcore, compute NumPy's answer (or NumPy's refusal), compare bitwise.
Failures are saved (up to MAX_PER_CLASS per class) in $DIFF_NUMPY_DIR/fail_<k>/.
"""
import argparse, io, json, math, os, pickle, random, re, shlex, shutil, subprocess, sys, time, traceback, warnings
import numpy as np
import numpy.lib._format_impl as F

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTCORE = os.environ.get('OUTCORE', os.path.join(REPO, 'target', 'release', 'outcore'))
BASE = os.environ.get('DIFF_NUMPY_DIR', '/tmp/outcore-diff-copies')
MAX_PER_CLASS = 3
warnings.simplefilter('ignore')

ALL_DT = ['?', 'i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8', 'c8', 'c16']
UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64, 1: np.uint8, 16: None}
NANBITS = {
    'f2': [0x7e00, 0xfe00, 0x7c01, 0x7d00, 0x7e55, 0xfc03],
    'f4': [0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000, 0x7fc12345, 0xff800100],
    'f8': [0x7ff8000000000000, 0xfff8000000000000, 0x7ff0000000000001, 0x7ff4000000000000,
           0x7ffc000000000123, 0xfff0000000abcdef],
}


def C(x):
    """C-contiguous copy that keeps 0-d arrays 0-d (np.ascontiguousarray makes them 1-d)."""
    return np.array(x, order='C', copy=True)


# ----------------------------------------------------------------------------- array generation
def float_specials(code):
    dt = np.dtype(code)
    fi = np.finfo(dt)
    vals = np.array([0.0, -0.0, np.inf, -np.inf, 1.0, -1.0, float(fi.max), -float(fi.max), float(fi.tiny),
                     -float(fi.tiny), float(fi.smallest_subnormal), -float(fi.smallest_subnormal), 0.5, -2.5, 3.0,
                     1e-3, -7.25], dtype=dt)
    nans = np.array(NANBITS[code], dtype=UINT[dt.itemsize]).view(dt)
    return np.concatenate([vals, nans])


def int_specials(code):
    dt = np.dtype(code)
    ii = np.iinfo(dt)
    v = [ii.min, ii.max, 0, 1, ii.min + 1, ii.max - 1, 2, 7, ii.max // 2]
    if ii.min < 0:
        v += [-1, -2, ii.min // 2]
    return np.array(v, dtype=dt)


def gen_float(rng, code, n, mode):
    dt = np.dtype(code)
    if mode == 'bits':
        return rng.integers(0, 2 ** (8 * dt.itemsize), size=n, dtype=UINT[dt.itemsize]).view(dt)
    if mode == 'normal':
        return (rng.standard_normal(n) * 10.0 ** int(rng.integers(-3, 6))).astype(dt)
    if mode == 'smallint':
        x = rng.integers(-3, 4, size=n).astype(dt)
        z = x == 0
        x[z & (rng.random(n) < 0.5)] = -0.0
        return x
    if mode == 'ties':
        # values just off / on the rounding ties of the narrower float types (f8->f4/f2, f4->f2)
        base = rng.standard_normal(n).astype(np.float16).astype(np.float64) * 2.0 ** rng.integers(-20, 10, size=n)
        base = base.astype(np.float16).astype(np.float64)
        ulp = np.abs(np.spacing(base.astype(np.float16)).astype(np.float64))
        tie = base + ulp / 2 * np.sign(base)
        eps = rng.choice([0.0, 1.0, -1.0], size=n) * np.abs(tie) * 2.0 ** rng.choice([-30, -40, -50, -26], size=n)
        x = tie + eps
        if code == 'f4':
            f4 = rng.standard_normal(n).astype(np.float32).astype(np.float64)
            u4 = np.abs(np.spacing(f4.astype(np.float32)).astype(np.float64))
            x2 = f4 + u4 / 2 + rng.choice([0.0, 1.0, -1.0], size=n) * u4 * 2.0 ** -20
            x = np.where(rng.random(n) < 0.5, x, x2)
        with np.errstate(all='ignore'):
            return x.astype(dt)
    sp = float_specials(code)
    if mode == 'dups':
        pool = np.concatenate([sp, (rng.standard_normal(4)).astype(dt)])
        pool = pool[rng.integers(0, len(pool), size=int(rng.integers(1, 6)))]
        return pool[rng.integers(0, len(pool), size=n)]
    # mixed
    x = (rng.standard_normal(n) * 100).astype(dt)
    m = rng.random(n) < rng.choice([0.05, 0.2, 0.5])
    x[m] = sp[rng.integers(0, len(sp), size=int(m.sum()))]
    return x


def gen_int(rng, code, n, mode):
    dt = np.dtype(code)
    if code == '?':
        if mode == 'dups':
            return np.full(n, bool(rng.integers(0, 2)))
        return rng.random(n) < rng.random()
    ii = np.iinfo(dt)
    if mode in ('bits', 'normal'):
        return rng.integers(ii.min, ii.max, size=n, dtype=dt, endpoint=True)
    if mode == 'smallint':
        lo = max(ii.min, -3)
        return rng.integers(lo, 4, size=n).astype(dt)
    if mode == 'ties' and dt.itemsize == 8:
        # int64/uint64 values near float32/float64 rounding ties (vectorized in uint64)
        ee = rng.integers(54, 63, size=n).astype(np.uint64)
        one = np.uint64(1)
        lowbit = np.where(rng.random(n) < 0.5, ee - np.uint64(24), ee - np.uint64(53))
        mult = rng.choice(np.array([1, 3], np.uint64), size=n)
        v = (one << ee) + (one << lowbit) * mult
        d = rng.integers(0, 3, size=n).astype(np.uint64)
        v = v + d - one  # -1, 0, +1 around the tie
        if ii.min < 0:
            neg = rng.random(n) < 0.5
            out = v.astype(np.int64)
            out[neg] = -out[neg]
            return out.astype(dt)
        return v.astype(dt)
    sp = int_specials(code)
    if mode == 'dups':
        pool = sp[rng.integers(0, len(sp), size=int(rng.integers(1, 6)))]
        return pool[rng.integers(0, len(pool), size=n)]
    x = rng.integers(ii.min, ii.max, size=n, dtype=dt, endpoint=True)
    m = rng.random(n) < 0.3
    x[m] = sp[rng.integers(0, len(sp), size=int(m.sum()))]
    return x


def gen_values(rng, code, n):
    mode = str(rng.choice(['bits', 'normal', 'smallint', 'dups', 'mixed', 'mixed', 'dups', 'ties']))
    dt = np.dtype(code)
    if dt.kind == 'c':
        fc = 'f4' if dt.itemsize == 8 else 'f8'
        out = np.empty(n, dt)
        fv = out.view(fc).reshape(n, 2)
        fv[:, 0] = gen_float(rng, fc, n, mode)
        fv[:, 1] = gen_float(rng, fc, n, mode if rng.random() < 0.5 else 'dups')
        x = out
    elif dt.kind == 'f':
        x = gen_float(rng, code, n, mode)
    else:
        x = gen_int(rng, code, n, mode)
    r = rng.random()
    if dt.kind != 'c' and r < 0.08:
        x = np.sort(x, kind='stable')
    elif dt.kind != 'c' and r < 0.14:
        x = np.sort(x, kind='stable')[::-1].copy()
    elif r < 0.17 and n:
        x = np.full(n, x[0], dtype=dt)
    return C(x)


def gen_shape(rng, maxn, ndim=None):
    if ndim is None:
        ndim = int(rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4]))
    dims = []
    for _ in range(ndim):
        r = rng.random()
        if r < 0.05:
            dims.append(0)
        elif r < 0.2:
            dims.append(1)
        elif r < 0.65:
            dims.append(int(rng.integers(2, 9)))
        else:
            dims.append(int(rng.integers(2, 200)))
    while math.prod(dims) > maxn:
        i = int(np.argmax(dims))
        dims[i] = max(1, dims[i] // 2)
    return tuple(dims)


def make_array(rng, big=False, dtypes=ALL_DT, ndim=None):
    code = str(rng.choice(dtypes))
    if big:
        maxn = int(rng.integers(20000, 200001))
        shape = gen_shape(rng, maxn, ndim if ndim is not None else int(rng.choice([1, 1, 2, 2, 3])))
        # grow first dim to use the budget
        if shape and 0 not in shape:
            rest = math.prod(shape[1:])
            shape = (max(shape[0], maxn // max(rest, 1)),) + shape[1:]
    else:
        shape = gen_shape(rng, 20000, ndim)
    n = math.prod(shape)
    x = gen_values(rng, code, n).reshape(shape)
    dt = x.dtype
    if dt.itemsize > 1 and rng.random() < 0.5:
        x = x.byteswap().view(dt.newbyteorder('>'))
    order = 'F' if (x.ndim >= 2 and rng.random() < 0.4) else 'C'
    return x, order


def save_npy(path, a, order, version=None):
    arr = np.array(a, order='F', copy=True) if order == 'F' else C(a)
    with open(path, 'wb') as f:
        F.write_array(f, arr, version=version, allow_pickle=False)


# ----------------------------------------------------------------------------- output reading / comparing
def read_npy_raw(path):
    with open(path, 'rb') as f:
        major, minor = F.read_magic(f)
        shape, fo, dt = F._read_array_header(f, (major, minor), max_header_size=1 << 20)
        off = f.tell()
        f.seek(0)
        allb = f.read()
    return dict(version=(major, minor), shape=tuple(shape), fortran=fo, dtype=dt, offset=off,
                header=allb[:off], data=allb[off:])


def ambiguous_order(shape):
    return math.prod(shape) == 0 or sum(1 for d in shape if d > 1) <= 1


def bits_of(a):
    a = C(a)
    if a.dtype.kind == 'c':
        h = a.dtype.itemsize // 2
        return a.view(UINT[h])
    return a.view(UINT[a.dtype.itemsize])


def fmt_el(v):
    v = np.asarray(v)
    b = bits_of(v.reshape(1))
    return f"{v.item()!r}[0x{' '.join(format(int(t), 'x') for t in b.ravel())}]"


def classify_diff(exp, got):
    """exp, got: same dtype and shape. Return (kind, detail)."""
    e = C(exp).reshape(-1)
    g = C(got).reshape(-1)
    if e.size == 0:
        return None, ''
    eb = bits_of(e).reshape(len(e), -1)
    gb = bits_of(g).reshape(len(g), -1)
    diff = np.any(eb != gb, axis=1)
    idx = np.flatnonzero(diff)
    if len(idx) == 0:
        return None, ''
    kind = 'values'
    if e.dtype.kind in 'fc':
        ee, gg = e[idx], g[idx]
        if e.dtype.kind == 'c':
            bothnan = (np.isnan(ee.real) & np.isnan(gg.real)) | (np.isnan(ee.imag) & np.isnan(gg.imag))
            numeq = ((ee.real == gg.real) | (np.isnan(ee.real) & np.isnan(gg.real))) & \
                    ((ee.imag == gg.imag) | (np.isnan(ee.imag) & np.isnan(gg.imag)))
        else:
            bothnan = np.isnan(ee) & np.isnan(gg)
            numeq = (ee == gg) | bothnan
        if np.all(numeq):
            if np.all(bothnan):
                kind = 'nanbits'
            elif not np.any(bothnan):
                kind = 'zerosign'
            else:
                kind = 'nanbits+zerosign'
    shown = []
    for i in idx[:6]:
        ui = np.unravel_index(i, exp.shape) if exp.ndim else ()
        shown.append(f"at {tuple(int(t) for t in ui)}: numpy {fmt_el(e[i])} outcore {fmt_el(g[i])}")
    return kind, f"{len(idx)} of {len(e)} elements differ; " + '; '.join(shown)


def check_npy_output(path, exp, want_order='C', ignore=None, mode='exact', rowlen=None):
    """Return list of (kind, detail) problems (empty: ok)."""
    try:
        info = read_npy_raw(path)
    except Exception as ex:
        return [('unreadable', repr(ex))]
    probs = []
    if info['dtype'].str != exp.dtype.str or info['dtype'] != exp.dtype:
        probs.append(('dtype', f"numpy {exp.dtype.str} outcore {info['dtype'].str}"))
        return probs
    if info['shape'] != exp.shape:
        probs.append(('shape', f"numpy {exp.shape} outcore {info['shape']}"))
        return probs
    fo = info['fortran']
    if not ambiguous_order(exp.shape) and fo != (want_order == 'F'):
        probs.append(('order', f"wanted {want_order}, header fortran_order={fo}, shape {exp.shape}"))
    n = exp.size * exp.dtype.itemsize
    if len(info['data']) != n:
        probs.append(('datasize', f"data bytes {len(info['data'])} expected {n}"))
        return probs
    got = np.frombuffer(info['data'], dtype=info['dtype']).reshape(exp.shape, order='F' if fo else 'C')
    if ignore is not None and ignore.any():
        got = got.copy()
        exp = exp.copy()
        got[ignore] = 0
        exp[ignore] = 0
    if mode == 'exact':
        k, d = classify_diff(exp, got)
        if k:
            probs.append((k, d))
    elif mode == 'unstable_sort':
        # keys must match position by position; each row a bit-permutation of the expected row
        e2 = C(exp).reshape(-1, rowlen) if rowlen else exp.reshape(1, -1)
        g2 = C(got).reshape(e2.shape)
        if e2.dtype.kind == 'f':
            keq = (e2 == g2) | (np.isnan(e2) & np.isnan(g2))
        else:
            keq = e2 == g2
        if not keq.all():
            k, d = classify_diff(exp, got)
            probs.append(('values', d))
        else:
            eb = np.sort(bits_of(e2), axis=-1)
            gb = np.sort(bits_of(g2), axis=-1)
            if not np.array_equal(eb, gb):
                probs.append(('not-a-permutation', 'multiset of element bits differs from input row (' +
                              classify_diff(exp, got)[1] + ')'))
    # header bytes as NumPy would write them
    if not probs:
        b = io.BytesIO()
        F._write_array_header(b, {'descr': F.dtype_to_descr(info['dtype']), 'fortran_order': fo,
                                  'shape': info['shape']}, None)
        if b.getvalue() != info['header']:
            probs.append(('header-bytes', f"outcore {info['header']!r} numpy {b.getvalue()!r}"))
    return probs


# ----------------------------------------------------------------------------- NumPy references
def stable_argsort_last(a, desc):
    n = a.shape[-1]
    if not desc:
        return np.argsort(a, axis=-1, kind='stable')
    s = np.argsort(a[..., ::-1], axis=-1, kind='stable')
    idx = (n - 1 - s)[..., ::-1]
    if a.dtype.kind == 'f' and n > 0:
        k = np.isnan(a).sum(axis=-1)
        pos = (np.arange(n) + k[..., None]) % n
        idx = np.take_along_axis(idx, pos, axis=-1)
    return C(idx)


def dense_rank(col, desc):
    col = np.asarray(col)
    if col.dtype.kind == 'f':
        nan = np.isnan(col)
    else:
        nan = np.zeros(col.shape, bool)
    u = np.unique(col[~nan])
    r = np.searchsorted(u, col).astype(np.int64)
    if desc:
        r = (len(u) - 1) - r
    r[nan] = len(u)
    return r


def ref_sort(a, p):
    if a.dtype.kind == 'c':
        raise NotImplementedError('complex')  # numpy sorts complex; outcore documents refusal
    if p.get('by') is not None:
        if p.get('flatten') or a.ndim != 2:
            raise TypeError('no numpy equivalent (--by needs a 2-d table)')
        ncol = a.shape[1]
        cols = p['by']
        for c in cols:
            if not -ncol <= c < ncol:
                raise IndexError(f'column {c} out of range')
        if p.get('descending'):
            keys = [dense_rank(a[:, c], True) for c in reversed(cols)]
        else:
            keys = [a[:, c] for c in reversed(cols)]
        idx = np.lexsort(keys) if a.shape[0] else np.zeros(0, np.intp)
        return C(a[idx]), 'exact', None
    x = a.reshape(-1) if p.get('flatten') else a
    if not p.get('flatten'):
        np.sort(a, axis=-1, kind='stable')  # raises for 0-d as numpy does
    idx = stable_argsort_last(x, p.get('descending'))
    exp = C(np.take_along_axis(x, idx, axis=-1))
    if not p.get('descending'):
        chk = np.sort(x, axis=-1, kind='stable')
        assert np.array_equal(bits_of(chk), bits_of(exp)), 'internal: np.sort stable != take_along(argsort)'
    mode = 'exact' if (p.get('stable') or p.get('by') is not None) else 'unstable_sort'
    return exp, mode, (x.shape[-1] if x.ndim else 1)


def ref_argsort(a, p):
    if a.dtype.kind == 'c':
        raise NotImplementedError('complex')
    if p.get('flatten'):
        x = a.reshape(-1)
    else:
        x = a
        if a.ndim == 0:
            return np.argsort(a, kind='stable').astype(np.int64)  # numpy gives array([0])
    return stable_argsort_last(x, p.get('descending')).astype(np.int64)


def ref_transpose(a, p):
    axes = p.get('axes')
    return C(np.transpose(a, axes))


def ref_reshape(a, p):
    return np.reshape(a, p['shape'], order=p['order'])


def ref_slice(a, p):
    items = list(p['items'])
    if not any(it is Ellipsis for it in items):
        items.append(Ellipsis)
    r = a[tuple(items)]
    return C(r)


def raw_ref(path, dtype, offset, shape, order):
    data = open(path, 'rb').read()
    if offset > len(data):
        raise ValueError('offset beyond end of file')
    avail = len(data) - offset
    it = dtype.itemsize
    if shape is None:
        if avail % it:
            raise ValueError('Size of available data is not a multiple of the data-type size.')
        shape = (avail // it,)
    cnt = math.prod(shape)
    if cnt * it > avail:
        raise ValueError('mmap length is greater than file size')
    return np.frombuffer(data, dtype, count=cnt, offset=offset).reshape(shape, order=order)


def target_dtype(src, p):
    t = np.dtype(p['dtype']) if p.get('dtype') else src
    bo = p.get('byteorder')
    if bo and t.itemsize > 1:
        t = t.newbyteorder({'little': '<', 'big': '>', 'native': '='}[bo])
    return t


def cast_ignore_mask(a, t):
    """Documented divergence: float->int casts of NaN/inf/out-of-range values (platform-defined in NumPy)."""
    if a.dtype.kind not in 'fc' or t.kind not in 'iu':
        return None
    v = a.real if a.dtype.kind == 'c' else a
    v = v.astype(np.float64)
    ii = np.iinfo(t)
    tr = np.trunc(v)
    ok = np.isfinite(v) & (tr >= float(ii.min)) & (tr < float(ii.max) + 1.0)
    return ~ok


# ----------------------------------------------------------------------------- running
def run_oc(args, timeout=60):
    t = time.time()
    try:
        p = subprocess.run([OUTCORE] + args, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, '', 'TIMEOUT', time.time() - t
    return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace'), time.time() - t


LIMIT_PATTERNS = [
    (r'not supported for dtype .*complex', 'complex dtype refused (documented: sort/argsort)'),
    (r'memory budget .* below the minimum', '--mem below minimum'),
    (r'memory budget is free \(raise --mem\)', 'buffer does not fit --mem (raise --mem)'),
]


def norm_msg(s):
    s = re.sub(r'/\S+', 'PATH', s)
    s = re.sub(r'-?\d+', 'N', s)
    s = re.sub(r'"[^"]*"', 'Q', s)
    return s.strip()[:160]


def build_args(spec, d):
    """Return (argv list, output path)."""
    c = spec['cmd']
    p = spec['p']
    inp = os.path.join(d, spec.get('infile', 'in.npy'))
    out = os.path.join(d, 'out.raw' if p.get('to_raw') else 'out.npy')
    if c == 'info':
        args = ['info', inp] + (['--json'] if p.get('json', True) else [])
        return args + spec['gopts'], None
    args = [c, inp, '-o', out]
    if c in ('sort', 'argsort'):
        for k in ('stable', 'descending', 'flatten'):
            if p.get(k):
                args.append('--' + k)
        if p.get('by') is not None:
            args += ['--by', p['by_str']]
    elif c == 'transpose':
        if p.get('axes_str') is not None:
            args += ['--axes', p['axes_str']]
    elif c == 'reshape':
        args += ['--shape', p['shape_str']]
        if p.get('order_opt'):
            args += ['--order', p['order_opt']]
    elif c == 'slice':
        args += ['--index', p['index_str']]
    elif c == 'convert':
        if p.get('dtype'):
            args += ['--dtype', p['dtype']]
        if p.get('order_opt'):
            args += ['--order', p['order_opt']]
        if p.get('byteorder'):
            args += ['--byteorder', p['byteorder']]
        if p.get('raw'):
            r = p['raw']
            args += ['--raw-dtype', r['dtype_str']]
            if r.get('shape_str') is not None:
                args += ['--raw-shape', r['shape_str']]
            if r.get('offset_opt') is not None:
                args += ['--raw-offset', str(r['offset_opt'])]
            if r.get('order_opt'):
                args += ['--raw-order', r['order_opt']]
        if p.get('to_raw'):
            args.append('--to-raw')
    return args + spec['gopts'], out


def write_inputs(spec, d):
    p = spec['p']
    if spec['cmd'] == 'convert' and p.get('raw'):
        r = p['raw']
        a = spec['a']
        data = a.tobytes(order=r['order'])
        with open(os.path.join(d, 'in.raw'), 'wb') as f:
            f.write(r['prefix'])
            f.write(data)
            f.write(r['suffix'])
        spec['infile'] = 'in.raw'
    else:
        save_npy(os.path.join(d, 'in.npy'), spec['a'], spec['order'], spec.get('version'))
        spec['infile'] = 'in.npy'


def numpy_expected(spec, d):
    """Return dict(exp=..., want_order, ignore, mode, rowlen) or raise (numpy refuses)."""
    c, a, p = spec['cmd'], spec['a'], spec['p']
    if c == 'sort':
        exp, mode, rowlen = ref_sort(a, p)
        return dict(exp=exp, want_order='C', mode=mode, rowlen=rowlen)
    if c == 'argsort':
        return dict(exp=ref_argsort(a, p), want_order='C')
    if c == 'transpose':
        return dict(exp=ref_transpose(a, p), want_order='C')
    if c == 'reshape':
        return dict(exp=ref_reshape(a, p), want_order=p['order'])
    if c == 'slice':
        return dict(exp=ref_slice(a, p), want_order='C')
    if c == 'convert':
        if p.get('raw'):
            r = p['raw']
            src = raw_ref(os.path.join(d, 'in.raw'), np.dtype(r['dtype']), r['offset'], r['shape'], r['order'])
        else:
            src = a
        t = target_dtype(src.dtype, p)
        order = p.get('order_opt') or 'C'
        exp = src.astype(t, order=order)
        return dict(exp=exp, want_order=order, ignore=cast_ignore_mask(src, t))
    raise AssertionError(c)


def check_info(spec, d, out_txt):
    path = os.path.join(d, 'in.npy')
    raw = read_npy_raw(path)
    try:
        j = json.loads(out_txt)
    except Exception as ex:
        return [('info-json', f'not JSON: {out_txt[:200]!r}')]
    want = dict(version=f"{raw['version'][0]}.{raw['version'][1]}", dtype=F.dtype_to_descr(raw['dtype']),
                shape=list(raw['shape']), order='F' if raw['fortran'] else 'C', data_offset=raw['offset'],
                nbytes=len(raw['data']))
    probs = []
    for k, v in want.items():
        if j.get(k) != v:
            probs.append(('info-' + k, f"outcore {j.get(k)!r} numpy {v!r}"))
    return probs


def run_case(spec, d):
    """Run one case in directory d (emptied first). Return dict(status, cls, detail, rc, stderr, args)."""
    if os.path.exists(d):
        shutil.rmtree(d)
    os.makedirs(d)
    write_inputs(spec, d)
    tmpd = None
    gopts = list(spec['gopts'])
    if spec.get('tmpdir'):
        tmpd = os.path.join(d, 'tmpd')
        os.makedirs(tmpd)
        gopts += ['--tmp-dir', tmpd]
    spec2 = dict(spec, gopts=gopts)
    args, out = build_args(spec2, d)
    stale = None
    if out and spec.get('stale'):
        stale = b'STALE' * 7
        with open(out, 'wb') as f:
            f.write(stale)
    before = set(os.listdir(d))
    rc, so, se, dt = run_oc(args)
    res = dict(rc=rc, stdout=so, stderr=se, args=args, secs=dt)
    c = spec['cmd']

    def fail(kind, detail):
        res.update(status='fail', kind=kind, detail=detail)
        return res

    if rc is None:
        return fail('timeout', 'no exit in 60 s')
    if rc == 101 or 'panicked' in se:
        return fail('panic', se.strip()[-600:])
    if rc not in (0, 1, 2):
        return fail('exitcode', f'rc={rc} {se.strip()[-300:]}')
    # leftovers
    after = set(os.listdir(d))
    extra = after - before - ({os.path.basename(out)} if (out and rc == 0) else set())
    if tmpd and os.listdir(tmpd):
        extra |= {'tmpd/' + x for x in os.listdir(tmpd)}
    if extra:
        return fail('leftover-files', f'rc={rc} left {sorted(extra)}')
    if out and rc != 0:
        if stale is None and os.path.exists(out):
            return fail('output-after-failure', f'rc={rc}')
        if stale is not None and open(out, 'rb').read() != stale:
            return fail('stale-output-modified', f'rc={rc}')
    if spec.get('noforce'):
        # existing output without --force must be refused (exit 2), untouched
        if rc != 2:
            return fail('noforce-not-refused', f'rc={rc}')
        res.update(status='ok')
        return res
    if c == 'info':
        if rc != 0:
            return fail('info-refused', se.strip()[:300])
        probs = check_info(spec, d, so) if spec['p'].get('json', True) else []
        if probs:
            return fail(probs[0][0], '; '.join(f'{k}: {v}' for k, v in probs))
        res.update(status='ok')
        return res
    try:
        ref = numpy_expected(spec, d)
        nperr = None
    except AssertionError:
        raise
    except Exception as ex:
        ref, nperr = None, ex
    if nperr is not None:
        if rc == 0:
            if isinstance(nperr, NotImplementedError):
                return fail('accepted-complex', f'numpy-side: {nperr!r}')
            return fail('accepted-numpy-refuses', f'numpy raises {type(nperr).__name__}: {nperr}')
        if rc != 2:
            return fail('refusal-exit-code', f'rc={rc} (numpy raises {nperr!r}); {se.strip()[:200]}')
        res.update(status='ok', refused=True)
        return res
    if rc != 0:
        for pat, name in LIMIT_PATTERNS:
            if re.search(pat, se):
                res.update(status='limit', kind=name, detail=se.strip()[:300])
                return res
        return fail('refused-numpy-ok', f'rc={rc}: {se.strip()[:300]}')
    # compare
    exp = ref['exp']
    res['expected'] = exp
    if spec['p'].get('to_raw'):
        data = open(out, 'rb').read()
        want = exp.tobytes(order=ref['want_order'])
        if len(data) != len(want):
            return fail('raw-size', f'{len(data)} bytes, expected {len(want)}')
        got = np.frombuffer(data, exp.dtype).reshape(exp.shape, order=ref['want_order'])
        ign = ref.get('ignore')
        e2 = exp
        if ign is not None and ign.any():
            got = got.copy(); e2 = exp.copy(); got[ign] = 0; e2[ign] = 0
        k, dd = classify_diff(e2, got)
        if k:
            return fail(k, dd)
        res.update(status='ok')
        return res
    probs = check_npy_output(out, exp, ref['want_order'], ref.get('ignore'), ref.get('mode', 'exact'),
                             ref.get('rowlen'))
    if probs:
        return fail(probs[0][0], '; '.join(f'{k}: {v}' for k, v in probs)[:2000])
    res.update(status='ok')
    return res


# ----------------------------------------------------------------------------- random case generation
DT_SPELL = ['float64', 'f8', '<f8', '>f8', 'd', 'double', 'float', 'float32', 'f4', '>f4', 'single', 'float16',
            'f2', '>f2', 'e', 'half', 'int8', 'i1', 'b', 'int16', '>i2', 'h', 'int32', 'i4', '>i4', 'i', 'int64',
            'i8', '>i8', 'l', 'q', 'int', 'uint8', 'u1', 'B', 'uint16', '>u2', 'H', 'uint32', '<u4', 'I',
            'uint64', '>u8', 'L', 'Q', 'uint', 'bool', '?', 'b1', 'complex64', 'c8', '>c8', 'F', 'complex128',
            'c16', 'D', 'complex', '>c16']


def gen_index(rng, a):
    d = a.ndim
    items, strs = [], []
    r = rng.random()
    nconsume = int(rng.integers(0, d + 1))
    if r < 0.03:
        nconsume = d + 1  # too many
    use_ell = rng.random() < 0.35
    for k in range(nconsume):
        size = a.shape[k] if k < d else 1
        t = rng.random()
        if t < 0.3:
            if size and rng.random() < 0.95:
                v = int(rng.integers(-size, size))
            else:
                v = int(rng.choice([size, -size - 1, size + 5, 2 ** 63 - 1, -2 ** 63, 2 ** 40]))
            items.append(v); strs.append(str(v) if rng.random() < 0.9 or v < 0 else '+' + str(v))
        else:
            def bound():
                if rng.random() < 0.4:
                    return None
                if rng.random() < 0.02:
                    return int(rng.choice([2 ** 63 - 1, -2 ** 63, 2 ** 31, -2 ** 40]))
                return int(rng.integers(-size - 3, size + 4))
            st, sp = bound(), bound()
            stp = None if rng.random() < 0.4 else int(rng.choice([1, 2, 3, -1, -2, -3, 7, -5, 1000, 2 ** 63 - 1, -2 ** 63 + 1]))
            if rng.random() < 0.01:
                stp = 0
            items.append(slice(st, sp, stp))
            s = ('' if st is None else str(st)) + ':' + ('' if sp is None else str(sp))
            if stp is not None:
                s += ':' + str(stp)
            elif rng.random() < 0.2:
                s += ':'
            strs.append(s)
    # newaxis
    for _ in range(int(rng.choice([0, 0, 0, 1, 2]))):
        pos = int(rng.integers(0, len(items) + 1))
        items.insert(pos, None)
        strs.insert(pos, str(rng.choice(['None', 'newaxis', 'np.newaxis'])))
    if use_ell:
        pos = int(rng.integers(0, len(items) + 1))
        items.insert(pos, Ellipsis)
        strs.insert(pos, '...')
        if rng.random() < 0.02:
            items.insert(0, Ellipsis); strs.insert(0, '...')
    if not items:
        if rng.random() < 0.5:
            items, strs = [Ellipsis], ['...']
        else:
            items, strs = [slice(None)], [':']
            if d == 0:
                items = [slice(None)]  # numpy: too many indices for 0-d
    sep = str(rng.choice([',', ', ', ' , ']))
    return items, sep.join(strs)


def factor_shape(rng, n):
    if n == 0:
        nd = int(rng.integers(1, 4))
        dims = [int(rng.integers(0, 5)) for _ in range(nd)]
        dims[int(rng.integers(0, nd))] = 0
        return dims
    if n == 1 and rng.random() < 0.3:
        return []
    f, m, q = [], n, 2
    while q * q <= m:
        while m % q == 0:
            f.append(q); m //= q
        q += 1
    if m > 1:
        f.append(m)
    nd = int(rng.integers(1, 5))
    dims = [1] * nd
    for x in f:
        dims[int(rng.integers(0, nd))] *= x
    rng.shuffle(dims)
    return [int(x) for x in dims]


def gen_case(rng, case_no):
    cmd = str(rng.choice(['sort'] * 25 + ['argsort'] * 12 + ['transpose'] * 12 + ['reshape'] * 12 +
                         ['slice'] * 15 + ['convert'] * 19 + ['info'] * 5))
    big = rng.random() < 0.2 and cmd != 'info'
    gopts = ['--quiet']
    p = {}
    spec = dict(cmd=cmd, gopts=gopts, p=p)
    dtypes = ALL_DT
    ndim = None
    if cmd == 'sort' and rng.random() < 0.25:
        ndim = 2
    a, order = make_array(rng, big=big, dtypes=dtypes, ndim=ndim)
    if cmd == 'sort':
        p['stable'] = rng.random() < 0.5
        p['descending'] = rng.random() < 0.4
        p['flatten'] = rng.random() < 0.3
        if a.ndim == 2 and rng.random() < 0.6 or rng.random() < 0.03:
            p['flatten'] = rng.random() < 0.03
            ncol = a.shape[1] if a.ndim >= 2 else (a.shape[0] if a.ndim else 1)
            k = int(rng.integers(1, 4))
            cols = []
            for _ in range(k):
                if rng.random() < 0.04 or ncol == 0:
                    cols.append(int(rng.choice([ncol, -ncol - 1, 100])))
                else:
                    c = int(rng.integers(0, ncol))
                    cols.append(c - ncol if rng.random() < 0.3 else c)
            p['by'] = cols
            p['by_str'] = ','.join(map(str, cols))
            # make keys tie-heavy sometimes
            if a.ndim == 2 and a.shape[0] and a.dtype.kind != 'c' and rng.random() < 0.5:
                a = a.copy()
                for c in cols:
                    if -a.shape[1] <= c < a.shape[1]:
                        col = a[:, c]
                        a[:, c] = col[rng.integers(0, max(1, min(len(col), 3)), size=len(col))]
    elif cmd == 'argsort':
        p['descending'] = rng.random() < 0.4
        p['flatten'] = rng.random() < 0.3
        p['stable'] = rng.random() < 0.2
    elif cmd == 'transpose':
        d = a.ndim
        r = rng.random()
        if r < 0.2:
            p['axes'] = None
            p['axes_str'] = None
        else:
            perm = [int(x) for x in rng.permutation(d)]
            perm = [x - d if rng.random() < 0.3 else x for x in perm]
            if rng.random() < 0.1:
                t = rng.random()
                if t < 0.3 and d:
                    perm[int(rng.integers(0, d))] = perm[0] if d > 1 else d
                    if d > 1 and len(set(perm)) == d:
                        perm[1] = perm[0]
                elif t < 0.55:
                    perm.append(int(rng.choice([d, -d - 1, 0])))
                elif t < 0.8 and d > 1:
                    perm.pop()
                elif d:
                    perm[0] = int(rng.choice([d, -d - 1]))
            p['axes'] = tuple(perm)
            p['axes_str'] = ','.join(map(str, perm))
    elif cmd == 'reshape':
        dims = factor_shape(rng, a.size)
        if dims and rng.random() < 0.3:
            dims[int(rng.integers(0, len(dims)))] = -1
        if rng.random() < 0.1:
            t = rng.random()
            if t < 0.3:
                dims = dims + [3]
            elif t < 0.5 and dims:
                dims[0] = -2 if dims[0] != 0 else 2
            elif t < 0.7:
                dims = dims + [-1, -1]
            else:
                dims = dims + [0, -1]
        p['shape'] = tuple(dims)
        p['shape_str'] = ','.join(map(str, dims))
        p['order'] = str(rng.choice(['C', 'F']))
        p['order_opt'] = p['order'] if (p['order'] == 'F' or rng.random() < 0.5) else None
    elif cmd == 'slice':
        items, s = gen_index(rng, a)
        p['items'] = items
        p['index_str'] = s
    elif cmd == 'convert':
        if rng.random() < 0.75:
            p['dtype'] = str(rng.choice(DT_SPELL))
        p['order_opt'] = str(rng.choice(['C', 'F'])) if rng.random() < 0.5 else None
        if rng.random() < 0.4:
            p['byteorder'] = str(rng.choice(['little', 'big', 'native']))
        if rng.random() < 0.3:
            r = {}
            r['order'] = str(rng.choice(['C', 'F'])) if a.ndim >= 2 else 'C'
            r['order_opt'] = r['order'] if (r['order'] == 'F' or rng.random() < 0.5) else None
            off = int(rng.choice([0, 0, 1, 3, 8, 64, 100, 4096, 4097, 5000]))
            r['offset'] = off
            r['offset_opt'] = off if (off or rng.random() < 0.5) else None
            r['prefix'] = bytes(rng.integers(0, 256, size=off, dtype=np.uint8))
            r['dtype'] = a.dtype.str
            r['dtype_str'] = a.dtype.str if rng.random() < 0.7 else (a.dtype.name if a.dtype.isnative else a.dtype.str)
            sfx = 0
            if rng.random() < 0.25 or a.ndim != 1:
                r['shape'] = a.shape
                r['shape_str'] = ','.join(map(str, a.shape))
                if rng.random() < 0.2:
                    sfx = int(rng.integers(1, 20))
                if rng.random() < 0.05 and a.ndim:
                    bad = list(a.shape); bad[0] += 1
                    r['shape'] = tuple(bad); r['shape_str'] = ','.join(map(str, bad))
            else:
                r['shape'] = None
                r['shape_str'] = None
                if rng.random() < 0.05:
                    sfx = int(rng.integers(1, a.dtype.itemsize)) if a.dtype.itemsize > 1 else 0
            r['suffix'] = bytes(rng.integers(0, 256, size=sfx, dtype=np.uint8))
            p['raw'] = r
        if rng.random() < 0.15:
            p['to_raw'] = True
    elif cmd == 'info':
        p['json'] = rng.random() < 0.9
    spec['a'] = a
    spec['order'] = order
    spec['version'] = None if rng.random() < 0.9 else ((2, 0) if rng.random() < 0.7 else (3, 0))
    # global options
    if big or rng.random() < 0.25:
        if rng.random() < 0.6:
            gopts += ['--chunk', str(rng.choice((['4K', '4096', '8K', '64K', '1M', '1000', '5K', '12345'] if big else ['4K', '1', '1000', '5K', '12345'])))]
        if rng.random() < 0.6:
            gopts += ['--mem', str(rng.choice(['1M', '1M', '2M', '256K', '300K', '4M']))]
    if rng.random() < 0.4:
        gopts += ['--threads', str(rng.choice(['1', '2', '3']))]
    if cmd != 'info':
        spec['tmpdir'] = rng.random() < 0.1
        r = rng.random()
        if r < 0.03:
            spec['stale'] = True
            spec['noforce'] = True
        else:
            gopts.append('--force')
            spec['stale'] = r < 0.2
    spec['big'] = big
    return spec


def class_key(spec, res):
    p = spec['p']
    a = spec['a']
    flags = []
    c = spec['cmd']
    if c in ('sort', 'argsort'):
        flags = [k for k in ('stable', 'descending', 'flatten') if p.get(k)] + (['by'] if p.get('by') is not None else [])
    elif c == 'convert':
        flags = (['raw'] if p.get('raw') else []) + (['to_raw'] if p.get('to_raw') else [])
    kind = res['kind']
    if kind in ('refused-numpy-ok', 'panic', 'refusal-exit-code'):
        extra = norm_msg(res['stderr'])[:80]
    elif kind == 'accepted-numpy-refuses':
        extra = norm_msg(res['detail'])[:60]
    else:
        extra = a.dtype.char + ('->' + target_dtype(a.dtype, p).char if c == 'convert' and kind in (
            'values', 'nanbits', 'zerosign', 'nanbits+zerosign') else '')
    return f"{c}|{kind}|{','.join(flags)}|{extra}"


def save_failure(spec, res, d, k, key):
    fd = os.path.join(BASE, f'fail_{k}')
    if os.path.exists(fd):
        shutil.rmtree(fd)
    os.makedirs(fd)
    for fn in os.listdir(d):
        src = os.path.join(d, fn)
        if os.path.isfile(src):
            shutil.copy(src, os.path.join(fd, 'got.npy' if fn == 'out.npy' else ('got.raw' if fn == 'out.raw' else fn)))
    args = [x.replace(d, fd) for x in res['args']]
    # repro writes to out.npy in the fail dir
    line = shlex.join([OUTCORE] + args)
    with open(os.path.join(fd, 'repro.txt'), 'w') as f:
        f.write(line + '\n')
    if res.get('expected') is not None:
        np.save(os.path.join(fd, 'expected.npy'), res['expected'])
    with open(os.path.join(fd, 'details.txt'), 'w') as f:
        f.write(f"class: {key}\nrc: {res['rc']}\nstderr: {res['stderr'][-2000:]}\nstdout: {res['stdout'][:2000]}\n"
                f"detail: {res.get('detail')}\ninput: dtype {spec['a'].dtype.str} shape {spec['a'].shape} "
                f"file order {spec['order']} version {spec.get('version')}\nparams: "
                f"{ {k2: v for k2, v in spec['p'].items() if k2 not in ('raw',)} }\n")
    spec2 = dict(spec)
    with open(os.path.join(fd, 'spec.pkl'), 'wb') as f:
        pickle.dump(spec2, f)
    return fd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--seconds', type=float, default=60)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('--tag', default='m')
    ap.add_argument('--cases', type=int, default=None)
    ns = ap.parse_args()
    os.makedirs(BASE, exist_ok=True)
    seed = ns.seed if ns.seed is not None else int.from_bytes(os.urandom(4), 'little')
    rng = np.random.default_rng(seed)
    work = os.path.join(BASE, f'work_{ns.tag}')
    counts, fails, limits, refused = {}, {}, {}, {}
    classes = {}
    state_path = os.path.join(BASE, 'classes.json')
    if os.path.exists(state_path):
        classes = json.load(open(state_path))
    nextk = 1 + max([int(x[5:]) for x in os.listdir(BASE) if re.fullmatch(r'fail_\d+', x)] or [0])
    log = open(os.path.join(BASE, f'run_{ns.tag}.log'), 'a')
    log.write(f'# seed {seed} start {time.ctime()}\n')
    t0 = time.time()
    i = 0
    import signal
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    while time.time() - t0 < ns.seconds and (ns.cases is None or i < ns.cases) and not stop:
        i += 1
        spec = gen_case(rng, i)
        c = spec['cmd']
        counts[c] = counts.get(c, 0) + 1
        try:
            res = run_case(spec, work)
        except Exception:
            log.write(f'[{i}] TESTER ERROR {c}: {traceback.format_exc()}\n')
            log.flush()
            counts['tester-error'] = counts.get('tester-error', 0) + 1
            continue
        if res.get('refused'):
            refused[c] = refused.get(c, 0) + 1
        if res['status'] == 'limit':
            limits[res['kind']] = limits.get(res['kind'], 0) + 1
        elif res['status'] == 'fail':
            key = class_key(spec, res)
            fails[key] = fails.get(key, 0) + 1
            ent = classes.setdefault(key, {'count': 0, 'dirs': []})
            ent['count'] += 1
            if len(ent['dirs']) < MAX_PER_CLASS:
                fd = save_failure(spec, res, work, nextk, key)
                nextk += 1
                ent['dirs'].append(fd)
                log.write(f'[{i}] FAIL {key} -> {fd}\n    {res.get("detail", "")[:400]}\n')
            json.dump(classes, open(state_path, 'w'), indent=1)
        if i % 200 == 0:
            log.write(f'[{i}] {time.time() - t0:.0f}s counts={counts}\n')
            log.flush()
    summ = dict(seed=seed, cases=i, counts=counts, refused_as_numpy=refused, limits=limits, fails=fails,
                secs=time.time() - t0)
    log.write('# summary ' + json.dumps(summ) + '\n')
    log.close()
    print(json.dumps(summ, indent=1))


if __name__ == '__main__':
    main()
