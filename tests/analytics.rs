//! Exact analytics against NumPy: `histogram`, `scan` (cumsum/cumprod/nancumsum/nancumprod),
//! and `reduce` over a tuple of axes with `--keepdims`. Every check runs the binary on files
//! NumPy wrote and compares with NumPy's own result bit for bit (or as stated), for every dtype
//! the command accepts, both byte orders, both memory orders, NaN/inf data; the same results for
//! any thread count and budget; bad input is exit 2 with NumPy's message.

use crate::eval::fast_tempdir;
use crate::require_numpy;
use crate::util::{bin, code, outcore_in, python, stderr};

/// Python prelude: `run(args)` runs the binary, `check(cond, what)` collects failures, and
/// `VARIANTS` are the global flag sets whose results must all be identical.
fn prelude() -> String {
    format!(
        r#"
import numpy as np, subprocess, json, warnings
warnings.simplefilter('ignore')
BIN = {bin:?}
bad = []
def run(args):
    return subprocess.run([BIN] + [str(a) for a in args], capture_output=True, text=True)
def check(cond, what):
    if not cond:
        bad.append(what)
VARIANTS = [[], ['--threads', '1'], ['--threads', '2'], ['--threads', '3'],
            ['--mem', '1M', '--chunk', '4096']]
"#,
        bin = bin().display().to_string()
    )
}

const HISTOGRAM_CASES: &str = r#"
rng = np.random.default_rng(3)
def hist(a, bins, rng_=None, variants=([],)):
    np.save('h.npy', a)
    args = ['histogram', 'h.npy', '--bins', bins, '--json']
    if rng_ is not None:
        args += ['--range', f'{rng_[0]!r},{rng_[1]!r}']
    try:
        c, e = np.histogram(a, bins=bins, range=rng_)
    except ValueError as ex:
        r = run(args)
        check(r.returncode == 2 and str(ex) in r.stderr, f'{a.dtype} {bins} {rng_}: want error {ex}, got {r.returncode} {r.stderr}')
        return
    for v in variants:
        r = run(v + args)
        if r.returncode != 0:
            check(False, f'{a.dtype} {bins} {rng_} {v}: exit {r.returncode} {r.stderr}')
            continue
        j = json.loads(r.stdout)
        got_e = np.array(j['edges'], dtype=e.dtype)
        check(j['counts'] == c.tolist(), f'{a.dtype} {a.shape} {bins} {rng_} {v}: counts {j["counts"]} != {c.tolist()}')
        check(np.array_equal(got_e, e), f'{a.dtype} {bins} {rng_} {v}: edges differ')

for dt in ['<f8', '>f8', '<f4', '>f4', '<f2', '>f2', '|i1', '|u1', '<i2', '>u2', '<i4', '>u4', '<i8', '>u8', '|b1']:
    dt = np.dtype(dt)
    for n in [0, 1, 9, 5000]:
        if dt.kind == 'f':
            a = (rng.standard_normal(n) * 3).astype(dt)
        elif dt.kind == 'b':
            a = rng.random(n) < 0.3
        else:
            info = np.iinfo(dt)
            a = rng.integers(max(info.min, -1000), min(info.max, 1000), n).astype(dt)
        for bins in [1, 3, 10, 37, 1000]:
            hist(a, bins)
            hist(a, bins, (-1.1, 2.3))
            hist(a, bins, (0.1, 0.1))

big = rng.standard_normal((300, 170))
big[rng.random(big.shape) < 0.01] = np.inf
hist(np.asfortranarray(big), 17, (-2.0, 2.5), VARIANTS)
hist(big.astype('>f4'), 100, (-2.0, 2.5), VARIANTS)
hist(rng.integers(-2**62, 2**62, 20000), 77, None, VARIANTS)
hist(np.linspace(0, 1, 100001), 10, (0.0, 1.0))            # values on the edges
hist(np.linspace(0, 1, 100001).astype('f4'), 7, (0.1, 0.7))
hist(np.linspace(0, 1, 100001).astype('f4'), 3000)
hist(np.linspace(0, 1, 5001).astype('f2'), 300)
hist(np.arange(10.0), 10**5)
hist(np.array([3.0, 3.0]), 4)                                # min == max
hist(np.array([7, 7], dtype='i1'), 4)
# NumPy's errors: a NaN or inf with no range, bad ranges, too many bins for float16.
hist(np.array([1.0, np.nan, 3.0]), 3)
hist(np.array([1.0, np.inf]), 3)
hist(np.array([1.0, np.nan, 3.0]), 3, (0.0, 5.0))
hist(np.array([1.0, 2.0]), 3, (2.0, 1.0))
hist(np.array([1.0, 2.0]), 3, (1.0, np.inf))
hist(np.linspace(0, 1, 5001).astype('f2'), 3000)
print(json.dumps(bad))
"#;

#[test]
fn histogram_matches_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    let bad = python(dir.path(), &(prelude() + HISTOGRAM_CASES));
    assert_eq!(bad.trim(), "[]", "histogram mismatches: {bad}");
}

#[test]
fn histogram_writes_int64_counts_and_refuses_bad_input() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        "import numpy as np\n\
         np.save('a.npy', np.random.default_rng(0).normal(size=(50, 40)).astype('>f4'))\n\
         np.save('c.npy', np.ones(3, dtype='c16'))\n\
         np.save('n.npy', np.array([1.0, np.nan]))",
    );
    let out = outcore_in(
        dir.path(),
        &["histogram", "a.npy", "--bins", "13", "-o", "h.npy"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let check = python(
        dir.path(),
        "import numpy as np\n\
         h = np.load('h.npy'); c, _ = np.histogram(np.load('a.npy'), bins=13)\n\
         print(h.dtype.str, h.shape, (h == c).all())",
    );
    assert_eq!(check.trim(), "<i8 (13,) True");
    // An existing output is refused before any work; --force replaces it.
    let again = outcore_in(dir.path(), &["histogram", "a.npy", "-o", "h.npy"]);
    assert_eq!(code(&again), 2, "{}", stderr(&again));
    let forced = outcore_in(
        dir.path(),
        &["histogram", "a.npy", "-o", "h.npy", "--force"],
    );
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    for (args, message) in [
        (
            &["histogram", "n.npy"][..],
            "autodetected range of [nan, nan] is not finite",
        ),
        (&["histogram", "c.npy"][..], "c.npy"),
        (
            &["histogram", "a.npy", "--bins", "0"][..],
            "must be positive",
        ),
        (
            &["histogram", "a.npy", "--range", "2,1"][..],
            "max must be larger than min",
        ),
        (&["histogram", "a.npy", "--range", "1"][..], "LO,HI"),
        (&["histogram", "missing.npy"][..], "missing.npy"),
    ] {
        let out = outcore_in(dir.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // A failed run leaves no output behind.
    let out = outcore_in(dir.path(), &["histogram", "n.npy", "-o", "none.npy"]);
    assert_eq!(code(&out), 2);
    assert!(!dir.path().join("none.npy").exists());
}

const SCAN_CASES: &str = r#"
rng = np.random.default_rng(4)
fns = {'cumsum': np.cumsum, 'cumprod': np.cumprod, 'nancumsum': np.nancumsum, 'nancumprod': np.nancumprod}
def scan(a, op, axis, variants=([],)):
    np.save('s.npy', a)
    args = ['scan', op, 's.npy', '-o', 'out.npy', '--force'] + ([] if axis is None else ['--axis', axis])
    try:
        want = fns[op](a, axis=axis)
    except Exception as ex:
        r = run(args)
        check(r.returncode == 2 and str(ex) in r.stderr, f'{a.dtype} {a.shape} {op} {axis}: want error {ex}, got {r.returncode} {r.stderr}')
        return
    for v in variants:
        r = run(v + args)
        if r.returncode != 0:
            check(False, f'{a.dtype} {a.shape} {op} {axis} {v}: exit {r.returncode} {r.stderr}')
            continue
        got = np.load('out.npy')
        want_bytes = np.ascontiguousarray(want).astype(want.dtype.newbyteorder('=')).tobytes()
        check(got.dtype == want.dtype.newbyteorder('=') and got.shape == want.shape and got.flags.c_contiguous
              and got.tobytes() == want_bytes,
              f'{a.dtype} {a.shape} {"F" if a.flags.f_contiguous else "C"} {op} axis {axis} {v}: {got.dtype} {got.shape} differs')

for dt in ['<f8', '>f8', '<f4', '>f4', '<f2', '>f2', '|i1', '|u1', '>i2', '<u2', '<i4', '>u4', '<i8', '>u8', '|b1']:
    dt = np.dtype(dt)
    for shape in [(0,), (1,), (300,), (37, 29), (3, 4, 5), (0, 3)]:
        for order in ['C', 'F']:
            if dt.kind == 'f':
                a = rng.standard_normal(shape) + 0.9
                a[rng.random(shape) < 0.05] = np.nan
                a[rng.random(shape) < 0.01] = np.inf
                a = a.astype(dt)
            elif dt.kind == 'b':
                a = rng.random(shape) < 0.5
            else:
                info = np.iinfo(dt)
                a = rng.integers(info.min // 2, info.max // 2, shape, endpoint=True).astype(dt)   # overflow wraps
            a = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
            for op in fns:
                for axis in [None] + list(range(-1, len(shape))):
                    scan(a, op, axis)
# Float prefix sums in NumPy's exact sequential order, whatever the threads and chunks.
a = rng.standard_normal(200003).astype('f4')
scan(a, 'cumsum', None, VARIANTS)
scan(rng.standard_normal((400, 500)), 'cumsum', 0, VARIANTS)
scan(np.asfortranarray(rng.standard_normal((300, 70)).astype('>f8')), 'nancumprod', 1, VARIANTS)
scan(rng.integers(-2**40, 2**40, 100000), 'cumprod', None, VARIANTS)
scan(np.array(5.0), 'cumsum', None)
scan(np.array(5.0), 'cumsum', 0)
scan(np.array(5.0), 'cumsum', 1)
scan(np.ones((2, 3)), 'cumsum', 2)
scan(np.ones((2, 3)), 'cumsum', -3)
print(json.dumps(bad))
"#;

#[test]
fn scan_matches_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    let bad = python(dir.path(), &(prelude() + SCAN_CASES));
    assert_eq!(bad.trim(), "[]", "scan mismatches: {bad}");
    // The C-order copy of an F-ordered input is gone once the job is done.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".outcore"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn scan_refuses_bad_input() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        "import numpy as np\n\
         np.save('a.npy', np.arange(12.0).reshape(3, 4))\n\
         np.save('c.npy', np.ones(3, dtype='c16'))",
    );
    for (args, message) in [
        (
            &["scan", "cumsum", "a.npy", "-o", "o.npy", "--axis", "2"][..],
            "axis 2 is out of bounds for array of dimension 2",
        ),
        (&["scan", "cumsum", "c.npy", "-o", "o.npy"][..], "c.npy"),
        (&["scan", "cummax", "a.npy", "-o", "o.npy"][..], "cummax"),
        (&["scan", "cumsum", "a.npy"][..], "--output"),
    ] {
        let out = outcore_in(dir.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
        assert!(!dir.path().join("o.npy").exists());
    }
}

const REDUCE_AXES_CASES: &str = r#"
import itertools
rng = np.random.default_rng(6)
ops = {'sum': np.sum, 'prod': np.prod, 'min': np.min, 'max': np.max, 'mean': np.mean, 'var': np.var,
       'std': np.std, 'count-nonzero': np.count_nonzero, 'any': np.any, 'all': np.all,
       'nansum': np.nansum, 'nanmin': np.nanmin, 'nanmax': np.nanmax, 'nanmean': np.nanmean,
       'nanvar': np.nanvar, 'nanstd': np.nanstd, 'argmin': np.argmin, 'argmax': np.argmax,
       'nanargmin': np.nanargmin, 'nanargmax': np.nanargmax}
ROUNDED = ('sum', 'prod', 'mean', 'var', 'std', 'nansum', 'nanmean', 'nanvar', 'nanstd')
def reduce(a, op, axes, keep, variants=([],)):
    np.save('r.npy', a)
    args = ['reduce', op, 'r.npy', '-o', 'out.npy', '--force']
    if axes is not None:
        args += ['--axis', ','.join(map(str, axes))]
    if keep:
        args += ['--keepdims']
    what = f'{a.dtype} {a.shape} {"F" if a.flags.f_contiguous and a.ndim > 1 else "C"} {op} axes {axes} keepdims {keep}'
    try:
        if op.endswith(('argmin', 'argmax')) and axes is not None and len(axes) > 1:
            raise TypeError("'tuple' object cannot be interpreted as an integer")
        axis = axes[0] if axes is not None and len(axes) == 1 else axes
        want = np.asarray(ops[op](a, axis=axis, **({'keepdims': True} if keep else {})))
    except Exception as ex:
        r = run(args)
        check(r.returncode == 2, f'{what}: want an error ({ex}), got {r.returncode}')
        return
    outs = []
    for v in variants:
        r = run(v + args)
        if r.returncode != 0:
            check(False, f'{what} {v}: exit {r.returncode} {r.stderr}')
            return
        outs.append(open('out.npy', 'rb').read())
    check(all(o == outs[0] for o in outs), f'{what}: results differ between thread counts or budgets')
    got = np.load('out.npy')
    if got.shape != want.shape or got.dtype != want.dtype.newbyteorder('='):
        check(False, f'{what}: {got.dtype} {got.shape}, NumPy {want.dtype} {want.shape}')
        return
    if want.dtype.kind == 'f' and op in ROUNDED:
        # Float sums agree to the last bits (the summation order may differ from NumPy's).
        eps = np.finfo(want.dtype).eps
        scale = float(np.nanmax(np.abs(a.astype('f8')))) if a.size else 0.0
        scale = scale * scale if op in ('var', 'nanvar', 'prod') else scale
        ok = np.allclose(got, want, rtol=16 * eps, atol=16 * eps * scale * a.size, equal_nan=True)
    else:
        ok = np.array_equal(got, want, equal_nan=want.dtype.kind == 'f')
    check(ok, f'{what}: values differ')

def data(dt, shape):
    if dt.kind == 'f':
        a = rng.standard_normal(shape)
        a[rng.random(shape) < 0.1] = np.nan
        a[rng.random(shape) < 0.02] = np.inf
        return a.astype(dt)
    if dt.kind == 'b':
        return rng.random(shape) < 0.5
    info = np.iinfo(dt)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dt.newbyteorder('=')).astype(dt)

combos3 = [None, (0, 1), (1, 2), (0, 2), (0, 1, 2), (-1, 0), (2,)]
k = 0
for dt in ['|b1', '|i1', '|u1', '>i2', '<u2', '<i4', '>u4', '<i8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8']:
    dt = np.dtype(dt)
    for order in 'CF':
        a = data(dt, (3, 4, 5))
        a = np.asfortranarray(a) if order == 'F' else a
        for op in ops:
            for j in range(2):
                k += 1
                reduce(a, op, combos3[k % len(combos3)], (k // 3) % 2 == 1)
# Length-1 and length-0 axes, every combination.
for shape in [(2, 1, 3, 4), (0, 3, 2)]:
    for order in 'CF':
        a = data(np.dtype('<f8'), shape)
        a = np.asfortranarray(a) if order == 'F' else a
        for op in ['sum', 'max', 'nanmean', 'var', 'argmin', 'any']:
            for r in range(1, len(shape) + 1):
                for axes in itertools.combinations(range(len(shape)), r):
                    reduce(a, op, axes, r % 2 == 0)
# The same bytes for any thread count and budget.
big = data(np.dtype('<f8'), (60, 50, 40))
for axes in [(0, 2), (1, 2), (0, 1, 2)]:
    reduce(big, 'sum', axes, False, VARIANTS)
    reduce(np.asfortranarray(big), 'nanvar', axes, True, VARIANTS)
reduce(data(np.dtype('>i4'), (60, 50, 40)), 'sum', (0, 2), False, VARIANTS)
print(json.dumps(bad))
"#;

#[test]
fn reduce_over_axes_matches_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    let bad = python(dir.path(), &(prelude() + REDUCE_AXES_CASES));
    assert_eq!(bad.trim(), "[]", "reduce --axis K1,K2 mismatches: {bad}");
}

#[test]
fn reduce_over_axes_prints_json_writes_0d_and_refuses_bad_axes() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        "import numpy as np\nnp.save('a.npy', np.arange(24, dtype='i4').reshape(2, 3, 4))",
    );
    let out = outcore_in(
        dir.path(),
        &[
            "reduce",
            "sum",
            "a.npy",
            "--axis",
            "0,2",
            "--keepdims",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        crate::util::stdout(&out).trim(),
        r#"{"op":"sum","dtype":"<i8","value":[[[60], [92], [124]]]}"#
    );
    // All axes with -o and no --keepdims: a 0-d .npy; with --keepdims: all ones.
    for (args, want) in [
        (&["--axis", "0,1,2"][..], "() 276"),
        (&[][..], "() 276"),
        (&["--keepdims"][..], "(1, 1, 1) 276"),
    ] {
        let mut all = vec!["reduce", "sum", "a.npy", "-o", "s.npy", "--force"];
        all.extend_from_slice(args);
        let out = outcore_in(dir.path(), &all);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let got = python(
            dir.path(),
            "import numpy as np\ns = np.load('s.npy'); print(s.shape, int(s.sum()))",
        );
        assert_eq!(got.trim(), want, "{args:?}");
    }
    for (args, message) in [
        (
            &["--axis", "0,3"][..],
            "axis 3 is out of bounds for array of dimension 3",
        ),
        (&["--axis", "1,-2"][..], "duplicate value in 'axis'"),
        (&["--axis", "0,x"][..], "expected an axis"),
    ] {
        let mut all = vec!["reduce", "sum", "a.npy"];
        all.extend_from_slice(args);
        let out = outcore_in(dir.path(), &all);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let out = outcore_in(dir.path(), &["reduce", "argmin", "a.npy", "--axis", "0,1"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("single axis"), "{}", stderr(&out));
}

const QUANTILE_CASES: &str = r#"
rng = np.random.default_rng(5)
METHODS = ['linear', 'lower', 'higher', 'nearest', 'midpoint']
def qcheck(a, qs, method, axis=None, variants=([],), out=False):
    np.save('q.npy', a)
    scalar = len(qs) == 1
    qarg = qs[0] if scalar else qs
    args = ['quantile', 'q.npy', '--q', ','.join(repr(float(x)) for x in qs), '--method', method, '--json']
    if axis is not None:
        args += ['--axis', axis]
    what = f'{a.dtype.str} {a.shape} {"F" if np.isfortran(a) else "C"} q={qs} {method} axis={axis}'
    try:
        want = np.asarray(np.quantile(a, qarg, method=method, axis=axis))
    except Exception as ex:
        r = run(args)
        check(r.returncode == 2 and 'q.npy' in r.stderr, f'{what}: want exit 2 ({ex}), got {r.returncode} {r.stderr}')
        return
    for v in variants:
        r = run(v + args)
        if r.returncode != 0:
            check(False, f'{what} {v}: exit {r.returncode} {r.stderr}')
            continue
        j = json.loads(r.stdout)
        dt = np.dtype(j['dtype'])
        check(dt == want.dtype.newbyteorder('='), f'{what} {v}: dtype {dt} != {want.dtype}')
        vals = [np.array(x, dtype=object) for x in j['value']]
        got = np.array([np.array(x.tolist(), dtype=dt) if x.ndim else np.array(x.item(), dtype=dt) for x in vals], dtype=dt)
        got = got.reshape(want.shape)
        check(np.array_equal(got, want, equal_nan=(dt.kind == 'f')), f'{what} {v}: {got.ravel()[:8]} != {want.ravel()[:8]}')
    if out:
        import os
        if os.path.exists('r.npy'):
            os.remove('r.npy')
        r = run([x for x in args if x != '--json'] + ['-o', 'r.npy'])
        check(r.returncode == 0, f'{what} -o: {r.stderr}')
        if r.returncode == 0:
            got = np.load('r.npy')
            check(got.shape == want.shape and got.dtype == want.dtype.newbyteorder('=')
                  and np.array_equal(got, want, equal_nan=(got.dtype.kind == 'f')), f'{what} -o: {got} != {want}')

def data(dt, shape):
    dt = np.dtype(dt)
    n = int(np.prod(shape))
    if dt.kind == 'f':
        a = (rng.standard_normal(n) * 100).astype(dt)
    elif dt.kind == 'b':
        a = rng.random(n) < 0.4
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder('='), endpoint=True).astype(dt)
    return a.reshape(shape)

QS = [[0.5], [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0], [0.3333, 0.999]]
for dt in ['<f8', '>f8', '<f4', '>f4', '<f2', '>f2', '|i1', '|u1', '<i2', '>u2', '<i4', '>u4', '<i8', '>u8', '|b1']:
    for n in [1, 2, 7, 1000]:
        a = data(dt, (n,))
        for m in METHODS:
            for qs in QS:
                qcheck(a, qs, m)
    for m in METHODS:
        qcheck(data(dt, (37, 11)), [0.5], m, 0, out=True)
        qcheck(np.asfortranarray(data(dt, (9, 5, 13))), [0.2, 0.7], m, -1, out=True)
        qcheck(data(dt, (4, 30, 6)), [0.6], m, 1)

# Non-finite data: NaN anywhere gives NaN; infinities interpolate as NumPy's _lerp does.
x = rng.standard_normal(5000)
x[::97] = np.inf
x[5::101] = -np.inf
for m in METHODS:
    qcheck(x, [0.0, 0.01, 0.5, 0.99, 1.0], m)
    qcheck(np.array([np.inf]), [0.5], m)
    qcheck(np.array([0.0, np.inf]), [0.75, 1.0], m)
    y = x.copy(); y[1234] = np.nan
    qcheck(y, [0.5], m)
    qcheck(y.reshape(50, 100), [0.1, 0.5], m, 1)
    qcheck(np.array([-0.0, 0.0, -0.0, 1.0], dtype='f4'), [0.0, 0.5], m)
# Integer differences wrap in NumPy's interpolation.
qcheck(np.array([-100, 100], dtype='i1'), [0.5], 'linear')
qcheck(np.array([-2**63, 2**63 - 1]), [0.25, 0.5], 'midpoint')
# Clustered data, heavy repetition, tiny budgets: several histogram refinements; results equal
# NumPy's for every thread count, budget and chunk size.
clustered = 1.0 + rng.integers(0, 2**20, 200000) * 1e-12
clustered[::1001] = 1e300
for m in METHODS:
    qcheck(clustered, [0.0, 1e-5, 0.5, 0.7, 1.0], m, None, VARIANTS)
qcheck(np.repeat(rng.standard_normal(5), 40000), [0.1, 0.5, 0.9], 'linear', None, VARIANTS)
qcheck(rng.integers(-2**62, 2**62, 100000), [0.25, 0.5], 'linear', None, VARIANTS)
qcheck(rng.standard_normal((40000, 3)).astype('>f4'), [0.5, 0.9], 'linear', 0, VARIANTS)
qcheck(np.asfortranarray(rng.standard_normal((3, 40000))), [0.5], 'nearest', 1, VARIANTS)
qcheck(np.asfortranarray(rng.standard_normal((200, 300))), [0.25], 'midpoint', 0, VARIANTS)
# NumPy's errors.
qcheck(np.array([], dtype='f8'), [0.5], 'linear')
qcheck(np.zeros((3, 0)), [0.5], 'linear', 1)
qcheck(np.arange(5.0), [1.5], 'linear')
qcheck(np.arange(5.0), [-0.1, 0.5], 'lower')
print(json.dumps(bad[:20]))
"#;

#[test]
fn quantile_matches_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    let bad = python(dir.path(), &(prelude() + QUANTILE_CASES));
    assert_eq!(bad.trim(), "[]", "quantile mismatches: {bad}");
}

#[test]
fn quantile_refuses_bad_input() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        "import numpy as np\n\
         np.save('c.npy', np.ones(3, dtype='c16'))\n\
         np.save('e.npy', np.zeros(0))\n\
         np.save('b.npy', np.array([True, False]))\n\
         np.save('a.npy', np.arange(10.0))",
    );
    std::fs::write(dir.path().join("junk.npy"), b"not a npy file").unwrap();
    for (args, message) in [
        (&["quantile", "c.npy", "--q", "0.5"][..], "c.npy"),
        (&["quantile", "e.npy", "--q", "0.5"][..], "empty"),
        (&["quantile", "b.npy", "--q", "0.5"][..], "bool"),
        (&["quantile", "a.npy", "--q", "1.5"][..], "range [0, 1]"),
        (
            &["quantile", "a.npy", "--q", "0.5", "--axis", "1"][..],
            "out of bounds",
        ),
        (&["quantile", "junk.npy", "--q", "0.5"][..], "junk.npy"),
        (
            &["quantile", "a.npy", "--q", "0.5", "--method", "hazen"][..],
            "hazen",
        ),
    ] {
        let out = outcore_in(dir.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    // A failed job leaves no output behind.
    let out = outcore_in(
        dir.path(),
        &["quantile", "e.npy", "--q", "0.5", "-o", "r.npy"],
    );
    assert_eq!(code(&out), 2);
    assert!(!dir.path().join("r.npy").exists());
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 5, "{names:?}");
}

const UNIQUE_CASES: &str = r#"
import os
rng = np.random.default_rng(9)
def ucheck(a, variants=([],)):
    np.save('u.npy', a)
    what = f'{a.dtype.str} {a.shape} {"F" if np.isfortran(a) else "C"}'
    wv, wc = np.unique(a, return_counts=True)
    nan = a.dtype.kind == 'f'
    for v in variants:
        for f in ('v.npy', 'c.npy'):
            if os.path.exists(f):
                os.remove(f)
        r = run(v + ['unique', 'u.npy', '-o', 'v.npy', '--counts', 'c.npy', '--json'])
        if r.returncode != 0:
            check(False, f'{what} {v}: exit {r.returncode} {r.stderr}')
            continue
        gv, gc = np.load('v.npy'), np.load('c.npy')
        check(gv.dtype == wv.dtype.newbyteorder('=') and np.array_equal(gv, wv, equal_nan=nan), f'{what} {v}: values {gv[:8]} != {wv[:8]}')
        check(gc.dtype == np.int64 and np.array_equal(gc, wc), f'{what} {v}: counts differ')
        j = json.loads(r.stdout)
        check(j['len'] == len(wv), f'{what} {v}: len {j["len"]}')
        if len(wv) <= 1000:
            jv = np.array([float(x) if isinstance(x, str) else x for x in j['values']], dtype=wv.dtype)
            check(np.array_equal(jv, wv, equal_nan=nan) and j['counts'] == wc.tolist(), f'{what} {v}: json differs')
        else:
            check(j['values'] is None, f'{what} {v}: json lists {len(wv)} values')
        left = [n for n in os.listdir('.') if n.startswith('.outcore')]
        check(not left, f'{what} {v}: left behind {left}')

for dt in ['<f8', '>f8', '<f4', '>f4', '<f2', '>f2', '|i1', '|u1', '<i2', '>u2', '<i4', '>u4', '<i8', '>u8', '|b1']:
    dt = np.dtype(dt)
    for n in [0, 1, 50, 3000]:
        if dt.kind == 'f':
            a = np.round(rng.standard_normal(n) * 20).astype(dt)
            a[::13] = np.nan
            a[1::17] = -0.0
            a[2::19] = np.inf
        elif dt.kind == 'b':
            a = rng.random(n) < 0.5
        else:
            info = np.iinfo(dt)
            a = rng.integers(max(info.min, -500), min(info.max, 500), n).astype(dt)
        ucheck(a)
    ucheck(np.asfortranarray(rng.integers(0, 50, (30, 20)).astype(dt)))
# Many distinct values under a small budget (a range wider than the values, so not counted in
# an array): the external sort and the dedup pass; the same for every thread count, budget and
# chunk size.
many = rng.integers(0, 300000, 100000)
ucheck(many, VARIANTS)
x = rng.standard_normal(60000).astype('>f4')
x[::7] = x[::7].round()
x[5::11] = np.nan
ucheck(x, VARIANTS)
ucheck(np.array(3.5))
print(json.dumps(bad[:20]))
"#;

#[test]
fn unique_matches_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    let bad = python(dir.path(), &(prelude() + UNIQUE_CASES));
    assert_eq!(bad.trim(), "[]", "unique mismatches: {bad}");
}

#[test]
fn unique_refuses_bad_input() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        "import numpy as np\n\
         np.save('c.npy', np.ones(3, dtype='c16'))\n\
         np.save('a.npy', np.arange(10.0))",
    );
    std::fs::write(dir.path().join("junk.npy"), b"not a npy file").unwrap();
    for (args, message) in [
        (&["unique", "c.npy", "-o", "v.npy"][..], "c.npy"),
        (&["unique", "junk.npy", "-o", "v.npy"][..], "junk.npy"),
        (&["unique", "a.npy", "-o", "a.npy"][..], "a.npy"),
    ] {
        let out = outcore_in(dir.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}
