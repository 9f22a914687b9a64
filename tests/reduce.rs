//! Reductions against NumPy: every op (and NaN-skipping form) on every numeric dtype in both
//! byte orders, C and F order, 1-d to 4-d, whole-array and along every axis, empty arrays,
//! NaN-heavy data, all-NaN slices, integer overflow, ties for argmin/argmax, ddof; `stats`;
//! the CLI's JSON formats; user folds.

use serde_json::Value as Json;

use outcore::kernels::reduce::{
    encode, fold_all, reduce_all_with, reduce_axis, stats, ReduceOp, Value,
};
use outcore::{Array, Context, DType, Layout, Order, OutputFile, OutputOptions};

use crate::eval::fast_tempdir;
use crate::require_numpy;
use crate::util::{code, is_bad_input, outcore_in, python, stderr, stdout};

const MAKE_CASES: &str = r#"
import numpy as np, json, warnings
warnings.simplefilter('ignore')
rng = np.random.default_rng(5)
ops = {'sum': np.sum, 'prod': np.prod, 'min': np.min, 'max': np.max, 'mean': np.mean, 'var': np.var,
       'std': np.std, 'argmin': np.argmin, 'argmax': np.argmax, 'count-nonzero': np.count_nonzero,
       'any': np.any, 'all': np.all, 'nansum': np.nansum, 'nanmin': np.nanmin, 'nanmax': np.nanmax,
       'nanmean': np.nanmean, 'nanvar': np.nanvar, 'nanstd': np.nanstd, 'nanargmin': np.nanargmin,
       'nanargmax': np.nanargmax}
codes = ['|b1','|i1','|u1','>i2','<u2','<i4','>i4','<u4','<i8','>i8','>u8','<f2','>f2','<f4','>f4','<f8','>f8']
shapes = [(0,), (7,), (3, 4), (2, 3, 4), (2, 1, 3, 2), (0, 3), (3, 0), (40, 3)]
cases = []
arrays = 0
for ci, dt in enumerate(codes):
    dt = np.dtype(dt)
    for si, shape in enumerate(shapes):
        for order in (['C', 'F'] if len(shape) > 1 else ['C']):
            if dt.kind == 'f':
                a = rng.normal(0, 100, shape)
                if si % 2:
                    a = np.round(a / 50)          # many ties
                a[rng.random(shape) < 0.4] = np.nan   # NaN-heavy
                if len(shape) == 2 and shape[0] > 0 and shape[1] > 0:
                    a[0, :] = np.nan               # an all-NaN slice along axis 1
                    a[:, -1] = np.nan              # and along axis 0
                a = a.astype(dt)
            elif dt.kind == 'b':
                a = rng.random(shape) < 0.5
            else:
                info = np.iinfo(dt)
                if si % 2:
                    a = rng.integers(0, 3, shape).astype(dt)    # ties
                else:
                    a = rng.integers(info.min, info.max, shape, dtype=dt.newbyteorder('='), endpoint=True).astype(dt)
            a = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
            name = f'a{arrays}.npy'
            arrays += 1
            np.save(name, a)
            for op, fn in ops.items():
                for axis in [None] + list(range(-1, len(shape))):
                    if axis == -1 and len(shape) == 1:
                        continue
                    ddofs = [0, 1] if op in ('var', 'std', 'nanvar', 'nanstd') and axis is None else [0]
                    for ddof in ddofs:
                        out = f'r{len(cases)}.npy'
                        try:
                            kw = {'ddof': ddof} if ddof else {}
                            r = np.asarray(fn(a, axis=axis, **kw))
                            np.save('w' + out, r)
                            want = 'ok'
                        except Exception as e:
                            want = 'error: ' + str(e)
                        cases.append({'file': name, 'op': op, 'axis': axis, 'ddof': ddof, 'out': out,
                                      'want': want, 'dtype': dt.str})
print(json.dumps(cases))
"#;

const CHECK: &str = r#"
import numpy as np, json
cases = json.load(open('cases.json'))
bad = []
for c in cases:
    if c['want'] != 'ok' or c.get('skipped'):
        continue
    want, got = np.load('w' + c['out']), np.load(c['out'])
    tag = f"{c['op']} axis={c['axis']} ddof={c['ddof']} {c['dtype']} {c['file']}"
    if got.dtype != want.dtype.newbyteorder('=') or got.shape != want.shape:
        bad.append(f'{tag}: {got.dtype.str}{got.shape} != {want.dtype.str}{want.shape}')
        continue
    if not got.flags['C_CONTIGUOUS']:
        bad.append(f'{tag}: the output is not C order')
        continue
    if want.dtype.kind == 'f' and c['op'] not in ('min', 'max', 'nanmin', 'nanmax'):
        rtol = {2: 2e-2, 4: 1e-5, 8: 1e-12}[want.dtype.itemsize]
        ok = np.allclose(got, want, rtol=rtol, atol=0, equal_nan=True) and \
             np.array_equal(np.isnan(got), np.isnan(want))
    else:
        ok = np.array_equal(got, want, equal_nan=want.dtype.kind == 'f')
    if not ok:
        bad.append(f'{tag}: values differ\n got {got.ravel()[:10]}\nwant {want.ravel()[:10]}')
print('\n'.join(bad[:40]))
"#;

/// Values at the edges of float64 and empty reduced axes (and integer nan-functions), along every
/// axis: infinities of both
/// signs, finite values whose sum or squared deviations overflow, and shapes with a zero-length
/// axis (NumPy raises for min/max/arg* over one even when the result has no elements).
const MAKE_EDGE_CASES: &str = r#"
import numpy as np, json, warnings
warnings.simplefilter('ignore')
ops = {'sum': np.sum, 'mean': np.mean, 'var': np.var, 'std': np.std, 'min': np.min,
       'argmax': np.argmax, 'nansum': np.nansum, 'nanmean': np.nanmean, 'nanvar': np.nanvar,
       'nanstd': np.nanstd, 'nanmax': np.nanmax, 'nanargmin': np.nanargmin,
       'nanargmax': np.nanargmax}
M = np.finfo('f8').max
arrays = [
    np.array([[np.inf, 1.0], [1.0, 2.0], [3.0, np.nan]]),
    np.array([[-np.inf, 1.0], [np.inf, 2.0], [3.0, 4.0]]),
    np.array([[1.7e308, 1.0], [-1.7e308, 1.0], [1.0, 1.0]]),
    np.array([[1.7e308, 1.0], [1.7e308, 2.0]]),
    np.array([[M, -M, 2.5], [1e308, -1e308, 1e308]]),
    # NumPy's pairwise sum overflows both ways here (8 accumulators: inf and -inf): NaN mean.
    np.array([M, -M, 0, 0, 0, 0, 0, 0, M, -M, 1, 0, 0, 0, 0, 0]),
    np.array([M, -M, 0, 0, 0, 0, 0, 0, M, -M, 1, 0, 0, 0, 0, 0]).reshape(2, 8),
    np.array([[2.876894872641354e307, 1.3650452879013143e308]] * 3),
    np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, 5.0]]),
    # np.nanargmin counts a NaN as +inf (nanargmax: -inf): a NaN before an equal infinity wins.
    np.array([np.nan, np.inf, np.inf]), np.array([np.nan, -np.inf, 1.0]),
    np.array([[np.nan, np.inf, 1.0], [np.inf, np.nan, -np.inf], [np.nan, -np.inf, np.inf]]),
    np.zeros((0, 0)), np.zeros((4, 0)), np.zeros((0, 4)), np.zeros((3, 0, 2)),
    # Integer nan-functions are the plain ones: nanvar with ddof == n is x/0 (inf, or nan).
    np.array([[3, 1], [2, 5]], dtype='i4'), np.array([[7, 7], [7, 7]], dtype='>u2'),
]
cases = []
for i, a in enumerate(arrays):
    for order in 'CF':
        b = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
        name = f'e{i}{order}.npy'
        np.save(name, b)
        for op, fn in ops.items():
            for axis in [None] + list(range(b.ndim)):
                for ddof in ([0, 2] if 'var' in op or 'std' in op else [0]):
                    out = f'r{len(cases)}.npy'
                    try:
                        kw = {'ddof': ddof} if ddof else {}
                        np.save('w' + out, np.asarray(fn(b, axis=axis, **kw)))
                        want = 'ok'
                    except Exception as e:
                        want = 'error: ' + str(e)
                    cases.append({'file': name, 'op': op, 'axis': axis, 'ddof': ddof, 'out': out,
                                  'want': want, 'dtype': b.dtype.str})
print(json.dumps(cases))
"#;

/// Variance of data far from zero (a large common offset, small spread) along every axis and
/// in both orders, against the exact value (rational arithmetic): NumPy's own result drifts
/// there along slower axes, ours must not (each path: blocks merged, values one at a time).
#[test]
fn variance_of_offset_data_is_exact_to_rounding() {
    require_numpy!();
    let dir = fast_tempdir();
    let want = python(
        dir.path(),
        r#"
import numpy as np, json
from fractions import Fraction
rng = np.random.default_rng(4)
def exact_var(v):
    v = [Fraction(float(x)) for x in v]
    m = sum(v) / len(v)
    return float(sum((x - m) ** 2 for x in v) / len(v))
out = []
for name, a in [('w', 1e10 + rng.normal(size=5000)), ('t', 1e14 + rng.integers(0, 2, (700, 3)))]:
    for order in 'CF':
        b = np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)
        f = f'{name}{order}.npy'
        np.save(f, b)
        out.append([f, None, [exact_var(b.ravel())]])
        for ax in range(b.ndim):
            out.append([f, ax, [exact_var(c) for c in np.moveaxis(b, ax, -1).reshape(-1, b.shape[ax])]])
print(json.dumps(out))
"#,
    );
    let cases: Json = serde_json::from_str(want.trim()).unwrap();
    for c in cases.as_array().unwrap() {
        let file = c[0].as_str().unwrap();
        let mut args = vec!["reduce", "var", file, "--json"];
        let axis = c[1].as_i64().map(|a| a.to_string());
        if let Some(a) = &axis {
            args.extend(["--axis", a]);
        }
        let out = outcore_in(dir.path(), &args);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let got: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        let got: Vec<f64> = match &got["value"] {
            Json::Array(v) => v.iter().map(|x| x.as_f64().unwrap()).collect(),
            v => vec![v.as_f64().unwrap()],
        };
        let want: Vec<f64> = c[2]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(got.len(), want.len(), "{file} axis {axis:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-12 * w.abs(),
                "{file} axis {axis:?}: got {g} want {w}"
            );
        }
    }
}

#[test]
fn reductions_match_numpy() {
    check_reductions(MAKE_CASES, 5000);
}

#[test]
fn reductions_of_extreme_values_and_empty_axes_match_numpy() {
    check_reductions(MAKE_EDGE_CASES, 500);
}

/// Runs every case the script `make` writes (arrays and NumPy's results) through the library
/// and compares with `CHECK`.
fn check_reductions(make: &str, at_least: usize) {
    require_numpy!();
    let dir = fast_tempdir();
    let mut cases: Vec<Json> = serde_json::from_str(python(dir.path(), make).trim()).unwrap();
    assert!(cases.len() > at_least, "{} cases", cases.len());
    let ctx = Context::builder()
        .threads(2)
        .memory(64 << 20)
        .chunk_bytes(4096)
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for c in cases.iter_mut() {
        let a = Array::open(dir.path().join(c["file"].as_str().unwrap())).unwrap();
        let op = ReduceOp::parse(c["op"].as_str().unwrap()).unwrap();
        let ddof = c["ddof"].as_f64().unwrap();
        let dest = dir.path().join(c["out"].as_str().unwrap());
        let tag = format!(
            "{} axis={} {} {}",
            c["op"], c["axis"], c["dtype"], c["file"]
        );
        let result = match c["axis"].as_i64() {
            None => reduce_all_with(&ctx, &a, op, ddof).map(|r| {
                let layout = Layout::new(r.dtype.clone(), vec![], Order::C).unwrap();
                let mut out =
                    OutputFile::create_npy(&dest, &layout, &OutputOptions::default()).unwrap();
                encode(r.value, r.dtype.scalar_kind().unwrap(), out.data_mut());
                out.commit().unwrap();
            }),
            Some(axis) => reduce_axis(&ctx, &a, op, axis, ddof)
                .map(|r| r.write_npy(&dest, &OutputOptions::default()).unwrap()),
        };
        let want = c["want"].as_str().unwrap().to_string();
        match result {
            Ok(()) if want == "ok" => {}
            Ok(()) => failures.push(format!("{tag}: succeeds but NumPy raises {want}")),
            Err(e) => {
                c["skipped"] = Json::Bool(true);
                if want == "ok" {
                    failures.push(format!("{tag}: fails but NumPy succeeds: {e}"));
                } else if !is_bad_input(&e) {
                    failures.push(format!(
                        "{tag}: {:?} error (not bad input) for {e}",
                        e.kind()
                    ));
                }
            }
        }
    }
    std::fs::write(
        dir.path().join("cases.json"),
        serde_json::to_string(&cases).unwrap(),
    )
    .unwrap();
    let mismatches = python(dir.path(), CHECK);
    if !mismatches.trim().is_empty() {
        failures.push(mismatches.trim().to_string());
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn large_sums_are_as_accurate_as_numpy_and_independent_of_threads() {
    require_numpy!();
    let dir = fast_tempdir();
    let want = python(
        dir.path(),
        r#"
import numpy as np
rng = np.random.default_rng(3)
a = rng.normal(1e3, 1.0, 3_000_001)
np.save('f8.npy', a)
np.save('f4.npy', a.astype('>f4'))
np.save('i4.npy', np.asfortranarray(rng.integers(-2**31, 2**31, (3, 1_000_001), dtype='i4')))
import math
print(math.fsum(a), math.fsum(a.astype('f4').astype('f8')), int(np.load('i4.npy').astype(object).sum()) % 2**64,
      np.var(a.astype(np.longdouble)))
"#,
    );
    let w: Vec<f64> = want
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    let exact_f4 = w[1];
    for threads in [1, 2, 3] {
        let ctx = Context::builder()
            .threads(threads)
            .memory(16 << 20)
            .chunk_bytes(1 << 16)
            .build()
            .unwrap();
        let f8 = Array::open(dir.path().join("f8.npy")).unwrap();
        let Value::Float(s) = reduce_all_with(&ctx, &f8, ReduceOp::Sum, 0.0)
            .unwrap()
            .value
        else {
            panic!()
        };
        assert!(
            (s - w[0]).abs() / w[0] < 1e-15,
            "f8 sum {s} vs exact {}",
            w[0]
        );
        let Value::Float(v) = reduce_all_with(&ctx, &f8, ReduceOp::Var, 0.0)
            .unwrap()
            .value
        else {
            panic!()
        };
        assert!((v - w[3]).abs() / w[3] < 1e-10, "var {v} vs {}", w[3]);
        let f4 = Array::open(dir.path().join("f4.npy")).unwrap();
        let Value::Float(s4) = reduce_all_with(&ctx, &f4, ReduceOp::Sum, 0.0)
            .unwrap()
            .value
        else {
            panic!()
        };
        assert_eq!(
            s4, exact_f4 as f32 as f64,
            "f4 sum is the exact sum rounded once"
        );
        let i4 = Array::open(dir.path().join("i4.npy")).unwrap();
        let Value::Int(si) = reduce_all_with(&ctx, &i4, ReduceOp::Sum, 0.0)
            .unwrap()
            .value
        else {
            panic!()
        };
        assert_eq!(si as u64 as f64, w[2]);
    }
}

#[test]
fn float32_sums_down_a_tall_array_are_exact_to_rounding() {
    // NumPy adds the rows one at a time in float32 along axis 0, so its sums of a tall
    // float32 array drift (here by 5.5e-6 and 2.2e-5; by 33% at 5e7 rows); ours must stay
    // within one float32 rounding of the exact sums, whatever the chunking.
    require_numpy!();
    let dir = fast_tempdir();
    let want = python(
        dir.path(),
        r#"
import numpy as np, math
rng = np.random.default_rng(11)
a = rng.random((4_000_000, 2), dtype=np.float32)
np.save('tall.npy', a)
exact = [math.fsum(a[:, j].astype(np.float64).tolist()) for j in range(2)]
print(*exact, *[float(v) for v in a.sum(axis=0)])
"#,
    );
    let w: Vec<f64> = want
        .split_whitespace()
        .map(|t| t.parse().unwrap())
        .collect();
    for chunk in ["64K", "1M"] {
        let out = outcore_in(
            dir.path(),
            &[
                "reduce", "sum", "tall.npy", "--axis", "0", "-o", "s.npy", "--force", "--chunk",
                chunk,
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let s = Array::open(dir.path().join("s.npy")).unwrap();
        let got = s.as_slice::<f32>().unwrap();
        for j in 0..2 {
            let (exact, numpy) = (w[j], w[2 + j]);
            let rel = (got[j] as f64 - exact).abs() / exact;
            assert!(
                rel <= f32::EPSILON as f64 / 2.0,
                "column {j}, --chunk {chunk}: {} is {rel:e} from the exact {exact} (NumPy's {numpy})",
                got[j]
            );
        }
    }
}

#[test]
fn stats_is_numpy_in_one_pass() {
    require_numpy!();
    let dir = fast_tempdir();
    let want = python(
        dir.path(),
        r#"
import numpy as np, json, math
rng = np.random.default_rng(9)
def j(v):
    return str(v) if isinstance(v, float) and not math.isfinite(v) else v
out = {}
arrays = {
    'f8': rng.normal(5, 2, 100_003),
    'f4n': np.where(rng.random(5000) < 0.3, np.nan, rng.normal(size=5000)).astype('>f4'),
    'i2': rng.integers(-30000, 30000, (300, 7), dtype='i2'),
    'u8': rng.integers(0, 2**64 - 1, 1000, dtype='u8', endpoint=True),
    'b1': rng.random(77) < 0.5,
    'e': np.zeros((0, 3)),
    # Shifted one-pass moments: a large common offset, an outlier as a block's first value,
    # infinities first in a block and of both signs.
    'foff': 1e4 + rng.normal(0, 1e-2, 10_000),
    'fspike': np.r_[1e15, np.zeros(300), rng.normal(size=1000)],
    'finf': np.r_[np.inf, rng.normal(size=999)],
    'fpm': np.r_[rng.normal(size=500), np.inf, rng.normal(size=100), -np.inf],
    # Deviations from a block's first value that overflow although the sum does not, sums
    # that overflow (NumPy: std inf), and an infinity among them (std NaN).
    'fbig': np.r_[2.876894872641354e307, 1.3650452879013143e308],
    'fmax': np.r_[np.finfo('f8').max, -np.finfo('f8').max, 2.5],
    'fovf': np.r_[rng.normal(size=1000), 1e308, 1e308, -1e308, 1.7e308, 1.7e308],
    'fovfinf': np.r_[rng.normal(size=200), 1.7e308, 1.7e308, np.inf],
    # Long enough for the interleaved streams (>= 8192 values per run) and the float64
    # vector kernel: NaNs, an outlier and infinities inside later streams, a large integer run.
    'f8n': np.where(rng.random(30_001) < 0.2, np.nan, rng.normal(size=30_001)),
    'f8spike': np.r_[rng.normal(size=12_000), 1e15, rng.normal(size=12_000)],
    'f8pm': np.r_[rng.normal(size=20_000), np.inf, rng.normal(size=9_000), -np.inf],
    'f8ext': np.r_[rng.normal(size=25_000), -7.5, rng.normal(size=5_000), 9.25, rng.normal(size=11)],
    'i8': rng.integers(-2**40, 2**40, 50_000),
}
for k, a in arrays.items():
    np.save(k + '.npy', a)
    n = a.size
    out[k] = {'count': n, 'sum': j(float(a.sum())) if a.dtype.kind == 'f' else int(a.sum()),
              'mean': j(float(a.mean())) if n else None, 'std': j(float(a.std())) if n else None,
              'min': j(float(a.min())) if n else None, 'max': j(float(a.max())) if n else None,
              'nan_count': int(np.isnan(a).sum()) if a.dtype.kind == 'f' else 0}
print(json.dumps(out))
"#,
    );
    let want: Json = serde_json::from_str(want.trim()).unwrap();
    for (name, w) in want.as_object().unwrap() {
        let out = outcore_in(dir.path(), &["stats", &format!("{name}.npy"), "--json"]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let got: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        let num = |v: &Json| -> f64 {
            match v {
                Json::String(s) => s.parse().unwrap(),
                Json::Bool(b) => *b as u8 as f64,
                v => v.as_f64().unwrap_or(f64::NAN),
            }
        };
        assert_eq!(got["count"], w["count"], "{name}");
        assert_eq!(got["nan_count"], w["nan_count"], "{name}");
        if name.starts_with('i') || name.starts_with('u') || name == "b1" {
            assert_eq!(got["sum"].to_string(), w["sum"].to_string(), "{name} sum");
        }
        for key in ["sum", "mean", "std", "min", "max"] {
            if w[key].is_null() {
                if key == "min" || key == "max" {
                    assert!(got[key].is_null(), "{name} {key}: {}", got[key]);
                }
                continue;
            }
            let (g, e) = (num(&got[key]), num(&w[key]));
            let tol = if name == "f4n" { 1e-5 } else { 1e-12 };
            assert!(
                (g.is_nan() && e.is_nan()) || g == e || (g - e).abs() <= tol * e.abs().max(1e-300),
                "{name} {key}: got {g} want {e}"
            );
        }
    }
}

#[test]
fn float16_means_and_variances_overflow_where_numpys_sums_do() {
    // NumPy computes var/std/nanvar/nanstd and nanmean from sums in the input's float type
    // (np.mean sums float16 in float32): a float16 sum beyond 65504 makes them inf however
    // moderate the values. 70 000 float16 ones, NumPy's answers checked once (no NumPy here).
    // (float32 sums overflow in NumPy depending on its order of additions, `inf` or `nan`;
    // there ours stay accurate, see the README.)
    let dir = fast_tempdir();
    let args = [
        "gen", "ones.npy", "--dtype", "float16", "--shape", "70000", "--fill", "ones",
    ];
    let out = outcore_in(dir.path(), &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let json = |args: &[&str]| -> Json {
        let out = outcore_in(dir.path(), args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    };
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        v => v.to_string(),
    };
    for (op, want) in [
        ("sum", "inf"),
        ("mean", "1.0"),
        ("nanmean", "inf"),
        ("var", "inf"),
        ("std", "inf"),
        ("nanvar", "inf"),
        ("nanstd", "inf"),
    ] {
        let got = json(&["reduce", op, "ones.npy", "--json"]);
        assert_eq!(text(&got["value"]), want, "{op}");
    }
    let st = json(&["stats", "ones.npy", "--json"]);
    assert_eq!(
        (text(&st["sum"]), text(&st["mean"]), text(&st["std"])),
        ("inf".into(), "1.0".into(), "inf".into())
    );

    // Against NumPy: sums that overflow while the deviations do not, squared deviations that
    // overflow, a nanmean whose float16 sum is rounded before the division; both byte
    // orders.
    require_numpy!();
    let want = python(
        dir.path(),
        r#"
import numpy as np, json, warnings
warnings.simplefilter('ignore')
rng = np.random.default_rng(3)
arrays = {
    'h100': ('f2', 100 + rng.normal(0, 0.5, 1000)),
    'hdev': ('f2', rng.normal(10, 50, 300)),
    'hnan': ('f2', np.r_[rng.normal(10, 50, 7), np.nan]),
    'hok': ('f2', rng.normal(0.3, 0.01, 20_000)),
}
ops = {'mean': np.mean, 'nanmean': np.nanmean, 'var': np.var, 'std': np.std,
       'nanvar': np.nanvar, 'nanstd': np.nanstd}
out = []
for k, (t, v) in arrays.items():
    for order in '<>':
        a = v.astype(order + t)
        name = f'{k}{"le" if order == "<" else "be"}.npy'
        np.save(name, a)
        want = {op: repr(float(f(a))) for op, f in ops.items()}
        want['stats.mean'] = repr(float(a.mean()))
        want['stats.std'] = repr(float(a.std()))
        out.append([name, want])
print(json.dumps(out))
"#,
    );
    let cases: Json = serde_json::from_str(want.trim()).unwrap();
    for case in cases.as_array().unwrap() {
        let name = case[0].as_str().unwrap();
        // Our value (the shortest text that round-trips as float16) as a float16.
        let as_type = |v: &Json| -> f64 {
            let x: f64 = text(v).parse().unwrap();
            half::f16::from_f64(x).to_f64()
        };
        let st = json(&["stats", name, "--json"]);
        for (key, w) in case[1].as_object().unwrap() {
            let got = match key.strip_prefix("stats.") {
                Some(field) => as_type(&st[field]),
                None => as_type(&json(&["reduce", key, name, "--json"])["value"]),
            };
            let want: f64 = w.as_str().unwrap().parse().unwrap();
            // Means are NumPy's exactly; variances NumPy computes in float16 arithmetic, so
            // finite ones agree to its precision only. Infinities and NaNs exactly.
            let tol = if key.contains("mean") { 0.0 } else { 1e-2 };
            let same = (got.is_nan() && want.is_nan())
                || got == want
                || (got.is_finite() && want.is_finite() && (got - want).abs() <= tol * want.abs());
            assert!(same, "{name} {key}: got {got}, NumPy {want}");
        }
    }
}

#[test]
fn signed_zero_extremes_are_the_later_one() {
    // Of equal extremes 0.0 and -0.0 outcore's min and max keep the later one (its documented
    // rule); `stats` and `reduce` agree, with runs long enough for the vector kernels and
    // several chunks. NumPy's values are equal to ours; the sign NumPy returns for a mix of
    // zeros depends on its SIMD lanes (and has changed between NumPy versions), so only the
    // value is compared with NumPy, and the sign with the rule.
    require_numpy!();
    let dir = fast_tempdir();
    let want = python(
        dir.path(),
        r#"
import numpy as np
rng = np.random.default_rng(5)
arrays = []
for n in [2, 3, 1000, 50_001]:
    arrays.append(np.where(rng.random(n) < 0.5, 0.0, -0.0))
    # Every block, stream and chunk holds a tie; only the last value differs in sign.
    arrays.append(np.r_[np.zeros(n - 1), -0.0])
    arrays.append(np.r_[np.full(n - 1, -0.0), 0.0])
for i, a in enumerate(arrays):
    np.save(f'z{i}.npy', a)
    assert a.min() == 0.0 and a.max() == 0.0
    # All values tie: the later one is the last element.
    print(repr(float(a[-1])))
"#,
    );
    for (i, last) in want.lines().enumerate() {
        let file = format!("z{i}.npy");
        for chunk in ["4K", "64M"] {
            let got = |op: &str| {
                let out = outcore_in(dir.path(), &["reduce", op, &file, "--chunk", chunk]);
                assert_eq!(code(&out), 0, "{}", stderr(&out));
                stdout(&out).trim().to_string()
            };
            assert_eq!(
                (got("min"), got("max")),
                (last.into(), last.into()),
                "{file}"
            );
            let out = outcore_in(dir.path(), &["stats", &file, "--json", "--chunk", chunk]);
            let stats: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
            let text = |v: &Json| format!("{:?}", v.as_f64().unwrap());
            assert_eq!(
                (text(&stats["min"]), text(&stats["max"])),
                (last.into(), last.into()),
                "{file} stats"
            );
        }
    }
}

#[test]
fn reduce_cli_prints_numpy_json() {
    require_numpy!();
    let dir = fast_tempdir();
    python(
        dir.path(),
        r#"
import numpy as np
np.save('a.npy', np.array([[1.5, np.nan, 3.0], [np.inf, 2.0, -1.0]]))
np.save('n.npy', np.full((2, 2), np.nan, dtype='f4'))
np.save('i.npy', np.arange(6, dtype='>u2').reshape(2, 3))
np.save('big.npy', np.zeros((3, 2000)))
"#,
    );
    let run = |args: &[&str]| {
        let out = outcore_in(dir.path(), args);
        (code(&out), stdout(&out).trim().to_string(), stderr(&out))
    };
    assert_eq!(
        run(&["reduce", "nanmax", "a.npy", "--json"]).1,
        r#"{"op":"nanmax","dtype":"<f8","value":"inf"}"#
    );
    assert_eq!(
        run(&["reduce", "max", "a.npy", "--json"]).1,
        r#"{"op":"max","dtype":"<f8","value":"nan"}"#
    );
    assert_eq!(
        run(&["reduce", "argmax", "a.npy", "--json"]).1,
        r#"{"op":"argmax","dtype":"<i8","value":1}"#
    );
    assert_eq!(
        run(&["reduce", "sum", "i.npy", "--axis", "-1", "--json"]).1,
        r#"{"op":"sum","dtype":"<u8","value":[3, 12]}"#
    );
    assert_eq!(
        run(&["reduce", "mean", "i.npy", "--axis", "0", "--json"]).1,
        r#"{"op":"mean","dtype":"<f8","value":[1.5, 2.5, 3.5]}"#
    );
    let (rc, out, err) = run(&["reduce", "nanmin", "n.npy", "--json"]);
    assert_eq!(
        (rc, out.as_str()),
        (0, r#"{"op":"nanmin","dtype":"<f4","value":"nan"}"#)
    );
    assert!(err.contains("All-NaN slice encountered"), "{err}");
    let (rc, _, err) = run(&["reduce", "nanargmin", "n.npy"]);
    assert_eq!(rc, 2, "{err}");
    let (rc, _, err) = run(&["reduce", "min", "big.npy", "--axis", "0"]);
    assert_eq!(rc, 2);
    assert!(err.contains("-o OUT"), "{err}");
    let (rc, _, err) = run(&["reduce", "sum", "big.npy", "--axis", "0", "-o", "s.npy"]);
    assert_eq!(rc, 0, "{err}");
    let (rc, _, err) = run(&["reduce", "sum", "i.npy", "--axis", "2"]);
    assert_eq!(rc, 2);
    assert!(err.contains("out of bounds"), "{err}");
    assert_eq!(
        run(&["reduce", "nanvar", "a.npy", "--axis", "1", "--ddof", "1"]).1,
        "[1.125, nan]"
    );
    assert_eq!(
        run(&["reduce", "std", "i.npy", "--axis", "1", "--ddof", "1"]).1,
        "[1.0, 1.0]"
    );
}

#[test]
fn user_folds_run_in_parallel() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.npy");
    let layout = Layout::new(DType::parse(">i4").unwrap(), vec![100_000], Order::C).unwrap();
    {
        let mut a = Array::create(&path, layout).unwrap();
        for (i, c) in a.data_mut().unwrap().chunks_mut(4).enumerate() {
            c.copy_from_slice(&((i as i32 % 7) - 3).to_be_bytes());
        }
        a.flush().unwrap();
    }
    let ctx = Context::builder()
        .threads(2)
        .memory(8 << 20)
        .chunk_bytes(8192)
        .build()
        .unwrap();
    let a = Array::open(&path).unwrap();
    let (pos, total) = fold_all::<i32, _, _, _, _>(
        &ctx,
        &a,
        || (0u64, 0i64),
        |(p, t), x| (p + (x > 0) as u64, t + x as i64),
        |(p1, t1), (p2, t2)| (p1 + p2, t1 + t2),
    )
    .unwrap();
    let want_pos = (0..100_000).filter(|i| i % 7 > 3).count() as u64;
    let want_total: i64 = (0..100_000).map(|i| (i % 7) as i64 - 3).sum();
    assert_eq!((pos, total), (want_pos, want_total));
    let s = stats(&ctx, &a).unwrap();
    assert_eq!(s.sum, Value::Int(want_total));
}
