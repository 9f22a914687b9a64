//! `outcore eval` against NumPy: every numeric dtype in both byte orders, C and F inputs,
//! broadcasting, NEP 50 literals, integer wrap-around and division by zero, NaN, `--dtype`,
//! empty and 0-d inputs, and the errors (exit code 2 where NumPy raises).

use serde_json::Value as Json;

use outcore::kernels::expr::eval_to_file;
use outcore::{Array, Context, DType, OutputOptions};

use crate::require_numpy;
use crate::util::{code, is_bad_input, outcore_in, python, stderr};

/// Writes inputs and NumPy's results for many cases; prints the case list as JSON.
const MAKE_CASES: &str = r#"
import numpy as np, json, warnings
warnings.simplefilter('ignore')
rng = np.random.default_rng(11)
np_env = {f: getattr(np, f) for f in ['abs','sqrt','exp','log','log10','log1p','expm1','sin','cos','tan',
          'arcsin','arccos','arctan','arctan2','sinh','cosh','tanh','floor','ceil','round','minimum',
          'maximum','where','clip','isnan','isfinite']}
np_env.update(inf=np.inf, nan=np.nan, __builtins__={})

def mk(dt, shape, order='C'):
    dt = np.dtype(dt)
    if dt.kind == 'f':
        a = (rng.normal(0, 8, shape)).astype(dt)
        if a.size > 6:
            a.flat[::7] = np.nan
            a.flat[3] = np.inf
            a.flat[4] = -np.inf
            a.flat[5] = 0.0
    elif dt.kind == 'b':
        a = rng.integers(0, 2, shape).astype(bool)
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, shape, dtype=dt.newbyteorder('='), endpoint=True).astype(dt)
        if a.size > 4:
            a.flat[::5] = 0
            a.flat[1::6] = rng.integers(0, 5, a.flat[1::6].shape)
    return np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)

cases = []
def case(expr, inputs, dtype=None):
    env = {k: np.load(v) for k, v in inputs.items()}
    name = f'out{len(cases)}.npy'
    try:
        r = eval(expr, dict(np_env), env)
        r = np.asarray(r)
        if dtype is not None:
            r = r.astype(dtype)
        np.save('want_' + name, r)
        want = 'ok'
    except Exception as e:
        want = 'error: ' + str(e)
    cases.append({'expr': expr, 'inputs': inputs, 'dtype': dtype, 'out': name, 'want': want})

codes = ['|b1','|i1','|u1','<i2','>i2','<u2','<i4','>i4','<u4','>u4','<i8','>i8','<u8','>u8',
         '<f2','>f2','<f4','>f4','<f8','>f8']
for i, dt in enumerate(codes):
    t = dt[1:] + ('be' if dt[0] == '>' else '')
    files = {}
    for key, shape, order in [('a', (6, 5), 'C'), ('b', (6, 5), 'F'), ('r', (5,), 'C'), ('c', (6, 1), 'C')]:
        files[key] = f'{key}_{t}.npy'
        np.save(files[key], mk(dt, shape, order))
    xy = {'x': files['a'], 'y': files['b']}
    all4 = {'x': files['a'], 'y': files['b'], 'r': files['r'], 'c': files['c']}
    for e in ['x + y', 'x * y - r', 'x / c', 'x // y', 'x % y', 'x - y', '-x', '~x', 'abs(x)', 'x ** 2',
              '2*x+1', 'x + 1.5', 'x * 3', 'x < y', 'x >= r', 'x == c', 'x != y',
              '(x > r) & (y <= c)', '(x > r) | ~(y == c)', 'x & y', 'x ^ y',
              'where(x > y, x, r)', 'where(x, 1, 2.5)', 'minimum(x, y)', 'maximum(x, c)',
              'sqrt(abs(x))', 'exp(x / 100)', 'log(abs(x) + 1)', 'log10(abs(x) + 1)', 'log1p(abs(x))',
              'expm1(x / 200)', 'sin(x) + cos(y) * tan(r)', 'arcsin(x / 1000)', 'arccos(x / 1000)',
              'arctan(x)', 'arctan2(x, y)', 'sinh(x / 300)', 'cosh(x / 300)', 'tanh(x)',
              'floor(x)', 'ceil(x)', 'round(x)', 'isnan(x)', 'isfinite(y)', 'clip(x, 2, 7)',
              'clip(x, -3, 300)', 'clip(x, 2.5, -2)', 'where(x > 1, x, 300)', 'x ** 0.5', 'arctan2(x, 300)', 'x / 300', 'x < 300', 'x == -1', 'x + 100', 'x % 0 + x // 0', 'x ** -1']:
        case(e, all4 if any(n in e for n in ('r', 'c')) and 'clip' not in e else xy)
    if i % 3 == 0:
        case('where(isfinite(x), x, 0) * 2 + 1', xy, 'int16')
        case('x * 2 + y', xy, '>f4')
        case('x > y', xy, 'f8')

# Mixed dtypes: promotion between every pair of a representative set.
mixed = ['|b1', '|i1', '|u1', '<i2', '<u2', '>i4', '<u4', '<i8', '>u8', '<f2', '<f4', '>f8']
for p in mixed:
    for q in mixed:
        tp = p[1:] + ('be' if p[0] == '>' else '')
        tq = q[1:] + ('be' if q[0] == '>' else '')
        inputs = {'x': f'a_{tp}.npy', 'y': f'r_{tq}.npy'}
        for e in ['x + y', 'x * y', 'x / y', 'x < y', 'x == y', 'maximum(x, y)', 'arctan2(x, y)',
                  'abs(x) ** (abs(y) % 3)']:
            case(e, inputs)

# N-d broadcasting across orders, 0-d and empty inputs.
np.save('n4.npy', np.asfortranarray(rng.normal(size=(2, 3, 4, 5))))
np.save('n3.npy', rng.integers(-50, 50, (3, 1, 5)).astype('>i4'))
np.save('n2.npy', rng.normal(size=(4, 1)).astype('f4'))
np.save('s0.npy', np.array(3.5, dtype='f4'))
np.save('e0.npy', np.zeros((0, 5)))
np.save('big_i1.npy', np.arange(-128, 128, dtype='i1').reshape(16, 16))
np.save('f_f4.npy', np.asfortranarray(rng.normal(size=(7, 3)).astype('f4')))
case('x * y + z', {'x': 'n4.npy', 'y': 'n3.npy', 'z': 'n2.npy'})
case('x * s', {'x': 'a_i2.npy', 's': 's0.npy'})
case('x + r', {'x': 'e0.npy', 'r': 'r_f8.npy'})
case('x * 2 - 1', {'x': 'big_i1.npy'})
case('x // -1', {'x': 'big_i1.npy'})
case('2 * x', {'x': 'f_f4.npy'})
case('sqrt(x*x + y*y)', {'x': 'f_f4.npy', 'y': 'f_f4.npy'})
case('x + 2**3 - 7 // 2 + 1 / 4', {'x': 'a_f8.npy'})
case('1 + 2', {})
case('x ** x + (x ** True)', {'x': 'a_b1.npy'})   # no bool power loop in NumPy: int8
# An empty result still raises for an integer power of non-empty operands (NumPy evaluates
# `x ** -1` before broadcasting it with `e`); powers of empty or float operands do not.
np.save('e0i.npy', np.zeros((0, 5), 'i4'))
for e in ['e + x ** -1', 'e * (x + 1) ** (x - 500)', 'e + (e + x) ** -1', 'e + x ** 2',
          'e + 2.0 ** x', 'where(e > 0, x ** -2, 1)']:
    case(e, {'e': 'e0i.npy', 'x': 'r_i4.npy'})
# A comparison with an out-of-range int literal or a `where` with a constant condition still
# computes the operand it does not need (NumPy does, and raises for its errors).
for e in ['where(x >= -2147483648, x, x ** -1)', '(x ** -1) >= -2147483648',
          'where(x > -300, x, x * 2)', '(x * 2) < 100000']:
    case(e, {'x': 'a_i2.npy'})
# A float literal becomes float16 in one rounding (through float32 it would be 1.0, not 1.000977).
case('where(x > 1e9, x, 1.0004882812509095) + 0 * x', {'x': 'a_f2.npy'})
# Signed zeros and NaN bounds: clip keeps a value equal to a bound; minimum/maximum return the
# second operand on ties in float32/64 and the first in float16 (the check compares signs).
for dt in ['<f2', '>f4', '<f8']:
    z = f'z_{dt[1:]}.npy'
    np.save(z, np.array([-0.0, 0.0, 1, -1, np.nan, -0.0, 0.0, 5], dtype=dt))
    for e in ['clip(x, 0, inf)', 'clip(x, -0.0, 1)', 'clip(x, -1, -0.0)', 'clip(x, 0.0, 0.0)',
              'clip(x, nan, 3)', 'clip(x, 0, nan)', 'clip(x, 3, 0)', 'maximum(x, -0.0)',
              'minimum(x, 0.0)', 'maximum(-0.0, x)', 'minimum(0.0, x)', 'maximum(x, x * 0)',
              'minimum(x * 0, x)']:
        case(e, {'x': z})
    # Array bounds run NumPy's other clip loop, where a tie takes the bound (float16: not).
    zb = f'zb_{dt[1:]}.npy'
    np.save(zb, np.array([0.0, -0.0, 0.0, -0.0, 0.0, np.nan, -0.0, 1], dtype=dt))
    for e in ['clip(x, y, 1)', 'clip(x, -1, y)', 'clip(x, y, y)', 'clip(x, y * 0, inf)']:
        case(e, {'x': z, 'y': zb})
print(json.dumps(cases))
"#;

/// Compares our outputs with NumPy's; prints one line per mismatch.
const CHECK: &str = r#"
import numpy as np, json, sys, warnings
warnings.simplefilter('ignore')
cases = json.load(open('cases.json'))
bad = []
for c in cases:
    if not c['want'].startswith('ok') or c.get('skipped'):
        continue
    want = np.load('want_' + c['out'])
    got = np.load(c['out'])
    tag = f"{c['expr']!r} {c['inputs']} {c['dtype']}"
    if got.dtype != want.dtype.newbyteorder('=') and got.dtype != want.dtype:
        bad.append(f'{tag}: dtype {got.dtype.str} != {want.dtype.str}')
        continue
    if got.shape != want.shape:
        bad.append(f'{tag}: shape {got.shape} != {want.shape}')
        continue
    # Outputs are C order whatever the inputs' orders (spec 5), unlike NumPy's K order.
    if not got.flags.c_contiguous:
        bad.append(f'{tag}: output is not C order')
        continue
    if want.dtype.kind == 'f':
        exact = not any(f in c['expr'] for f in ('sqrt','exp','log','sin','cos','tan','arc','**'))
        rtol = {2: 1e-3, 4: 1e-6, 8: 1e-13}[want.dtype.itemsize] if not exact else 0
        # NumPy's SIMD transcendental functions are a few ulp from correctly rounded ones, and
        # sums of such terms cancel (sin(x) + cos(y)*tan(r) near 0): near zero the comparison
        # allows an absolute error of the same size as the relative one.
        ok = np.allclose(got, want, rtol=rtol, atol=rtol, equal_nan=True) if rtol else \
             np.array_equal(got, want, equal_nan=True)
        ok = ok and np.array_equal(np.isinf(got) & (got > 0), np.isinf(want) & (want > 0))
        if exact:
            real = ~np.isnan(want)
            ok = ok and np.array_equal(np.signbit(got[real]), np.signbit(want[real]))
    else:
        ok = np.array_equal(got, want)
    if not ok:
        bad.append(f'{tag}: values differ\n got {got.ravel()[:12]}\nwant {want.ravel()[:12]}')
print('\n'.join(bad))
"#;

/// A temporary directory on tmpfs where there is one: each output is synced on commit, and
/// hundreds of small syncs on a disk take most of a test's time.
pub fn fast_tempdir() -> tempfile::TempDir {
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

#[test]
fn eval_matches_numpy() {
    require_numpy!();
    let dir = fast_tempdir();
    let t0 = std::time::Instant::now();
    let cases: Vec<Json> = serde_json::from_str(python(dir.path(), MAKE_CASES).trim()).unwrap();
    eprintln!("numpy cases: {:?}", t0.elapsed());
    assert!(cases.len() > 1000, "{} cases", cases.len());
    let mut cases = cases;
    let ctx = Context::builder()
        .threads(2)
        .memory(64 << 20)
        .chunk_bytes(4096)
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for c in cases.iter_mut() {
        let expr = c["expr"].as_str().unwrap().to_string();
        let tag = format!("{expr} {}", c["inputs"]);
        let inputs: Vec<(String, Array)> = c["inputs"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, f)| {
                (
                    n.clone(),
                    Array::open(dir.path().join(f.as_str().unwrap())).unwrap(),
                )
            })
            .collect();
        let named: Vec<(&str, &Array)> = inputs.iter().map(|(n, a)| (n.as_str(), a)).collect();
        let dtype = c["dtype"].as_str().map(|d| DType::parse(d).unwrap());
        let dest = dir.path().join(c["out"].as_str().unwrap());
        let result = eval_to_file(
            &ctx,
            &expr,
            &named,
            &dest,
            dtype.as_ref(),
            &OutputOptions::default(),
        );
        let want = c["want"].as_str().unwrap().to_string();
        match result {
            Ok(_) if want == "ok" => {}
            Ok(_) => failures.push(format!("{tag}: succeeds but NumPy raises {want}")),
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
    eprintln!("outcore runs: {:?}", t0.elapsed());
    std::fs::write(
        dir.path().join("cases.json"),
        serde_json::to_string(&cases).unwrap(),
    )
    .unwrap();
    let mismatches = python(dir.path(), CHECK);
    let mismatches = mismatches.trim();
    if !mismatches.is_empty() {
        failures.push(mismatches.to_string());
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn eval_errors_name_the_position_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.npy");
    let b = dir.path().join("b.npy");
    let c = dir.path().join("c.npy");
    // A tiny f8 (3,) and (4,) array and a complex one, written by our own gen.
    for (p, dt, shape) in [(&a, "f8", "3"), (&b, "f8", "4"), (&c, "c16", "3")] {
        let out = outcore_in(
            dir.path(),
            &["gen", p.to_str().unwrap(), "--dtype", dt, "--shape", shape],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let run = |expr: &str, inputs: &[&str]| {
        let mut args = vec!["eval", expr, "-o", "r.npy"];
        args.extend_from_slice(inputs);
        let out = outcore_in(dir.path(), &args);
        (code(&out), stderr(&out))
    };
    let xa = format!("x={}", a.display());
    let yb = format!("y={}", b.display());
    let zc = format!("z={}", c.display());
    let (rc, err) = run("x + * 2", &[&xa]);
    assert_eq!(rc, 2);
    assert!(err.contains("column 5"), "{err}");
    let (rc, err) = run("x + w", &[&xa]);
    assert_eq!(rc, 2);
    assert!(err.contains("unknown name 'w'"), "{err}");
    assert!(err.contains("bound: x)"), "{err}");
    let (rc, err) = run("frob(x)", &[&xa]);
    assert_eq!(rc, 2);
    assert!(err.contains("unknown function 'frob'"), "{err}");
    let (rc, err) = run("x + y", &[&xa, &yb]);
    assert_eq!(rc, 2);
    assert!(err.contains("broadcast"), "{err}");
    let (rc, err) = run("z * 2", &[&zc]);
    assert_eq!(rc, 2);
    assert!(err.contains("complex128"), "{err}");
    let (rc, err) = run("x", &["x"]);
    assert_eq!(rc, 2);
    assert!(err.contains("NAME=FILE"), "{err}");
    // Deep nesting is an error, not a stack overflow (these used to abort with SIGABRT).
    for deep in [
        format!("{}x{}", "(".repeat(5000), ")".repeat(5000)),
        format!("{}x", "-".repeat(10000)),
        format!("{}x", "x+".repeat(20000)),
    ] {
        let (rc, err) = run(&deep, &[&xa]);
        assert_eq!(rc, 2, "{}", &err[..err.len().min(300)]);
        assert!(
            err.contains("nested too deeply"),
            "{}",
            &err[..err.len().min(300)]
        );
    }
    assert!(!dir.path().join("r.npy").exists());
    // As deep as allowed evaluates, on the worker threads too.
    let (n, d) = (
        outcore::kernels::expr::MAX_NESTING,
        outcore::kernels::expr::MAX_DEPTH,
    );
    for (i, text) in [
        format!("{}x", "-".repeat(n - 2)),
        format!("{}x", "x+".repeat(d - 1)),
        format!("{}x{}", "abs(".repeat(n - 1), ")".repeat(n - 1)),
        format!("{}x{}", "(".repeat(n - 1), ")".repeat(n - 1)),
    ]
    .iter()
    .enumerate()
    {
        let out = outcore_in(
            dir.path(),
            &[
                "eval",
                text,
                "-o",
                &format!("ok{i}.npy"),
                &xa,
                "--threads",
                "2",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    // An even number of minuses gives x back.
    let x = Array::open(&a).unwrap();
    let r = Array::open(dir.path().join("ok0.npy")).unwrap();
    assert_eq!(r.as_slice::<f64>().unwrap(), x.as_slice::<f64>().unwrap());
}

#[test]
fn eval_writes_c_order_for_fortran_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = outcore_in(
        dir.path(),
        &[
            "gen", "f.npy", "--dtype", "f4", "--shape", "37,41", "--order", "F", "--fill", "arange",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = outcore_in(dir.path(), &["eval", "2*x + x", "-o", "r.npy", "x=f.npy"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let r = Array::open(dir.path().join("r.npy")).unwrap();
    assert_eq!(r.order(), outcore::Order::C);
    assert_eq!(r.shape(), &[37, 41]);
    // `arange` fills each element with its flat C-order index, also in an F file.
    let v = r.as_slice::<f32>().unwrap();
    assert!(v.iter().enumerate().all(|(k, &x)| x == 3.0 * k as f32));
}

/// Writes random float arrays and NumPy's `x ** e` for the exponents NumPy runs as `square`,
/// `sqrt`, `reciprocal` or a copy (and two it leaves to `pow`); prints the cases as JSON.
const MAKE_SCALAR_POWERS: &str = r#"
import numpy as np, json, warnings
warnings.simplefilter('ignore')
rng = np.random.default_rng(23)
cases = []
for dt in ['<f2', '<f4', '>f4', '<f8', '|i1', '<i4', '<u8', '|b1']:
    name = 'p_' + dt[1:] + ('be' if dt[0] == '>' else '') + '.npy'
    if dt[1] == 'f':
        x = (rng.standard_normal(40000) * 10.0 ** rng.integers(-3, 4, 40000)).astype(dt)
        x[:6] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0]
    elif dt[1] == 'b':
        x = rng.integers(0, 2, 1000).astype(bool)
    else:
        info = np.iinfo(dt)
        x = rng.integers(info.min, info.max, 1000, dtype=np.dtype(dt).newbyteorder('='), endpoint=True).astype(dt)
    np.save(name, x)
    exps = ['2', '2.0', '0.5', '-1', '-1.0', '1', '1.0', '0', '0.0'] if dt[1] == 'f' else ['2', '1', '0']
    for e in exps:
        out = f'want_{len(cases)}.npy'
        np.save(out, eval('x ** ' + e))
        cases.append({'input': name, 'expr': 'x ** ' + e, 'want': out})
print(json.dumps(cases))
"#;

/// `x ** 2` is NumPy's exact `square` for float arrays, not `pow` (which is an ulp off for
/// about one element in a thousand); likewise `** 0.5`, `** -1` and `** 1`.
#[test]
fn scalar_powers_match_numpy_bit_for_bit() {
    require_numpy!();
    let dir = fast_tempdir();
    let cases: Vec<Json> =
        serde_json::from_str(python(dir.path(), MAKE_SCALAR_POWERS).trim()).unwrap();
    assert_eq!(cases.len(), 4 * 9 + 4 * 3);
    let ctx = Context::builder().threads(2).build().unwrap();
    let mut checks = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let x = Array::open(dir.path().join(c["input"].as_str().unwrap())).unwrap();
        let got = format!("got_{i}.npy");
        eval_to_file(
            &ctx,
            c["expr"].as_str().unwrap(),
            &[("x", &x)],
            dir.path().join(&got),
            None,
            &OutputOptions::default(),
        )
        .unwrap();
        checks.push(format!(
            "({:?}, {:?}, {:?})",
            got,
            c["want"].as_str().unwrap(),
            c["expr"].as_str().unwrap()
        ));
    }
    // Same dtype and the same bits (NaN payloads aside) in every element.
    let check = format!(
        r#"
import numpy as np
for got, want, expr in [{}]:
    g, w = np.load(got), np.load(want)
    if g.dtype != w.dtype.newbyteorder('=') and g.dtype != w.dtype:
        print(expr, 'dtype', g.dtype, w.dtype)
    elif w.dtype.kind == 'f':
        same = (g.astype(w.dtype.newbyteorder('=')).view('u%d' % w.itemsize) ==
                w.astype(w.dtype.newbyteorder('=')).view('u%d' % w.itemsize)) | (np.isnan(g) & np.isnan(w))
        if not same.all():
            print(expr, w.dtype, (~same).sum(), 'elements differ, e.g.', g[~same][:3], w[~same][:3])
    elif not np.array_equal(g, w):
        print(expr, w.dtype, 'values differ')
"#,
        checks.join(", ")
    );
    let mismatches = python(dir.path(), &check);
    assert!(mismatches.trim().is_empty(), "{mismatches}");
}

/// `x + 1` with only `y` and `z` bound lists them (it said "bound: none" because names the
/// expression does not use were left out of the message).
#[test]
fn unknown_name_error_lists_every_bound_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = outcore_in(
        dir.path(),
        &["gen", "small.npy", "--dtype", "i4", "--shape", "3"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let small = Array::open(dir.path().join("small.npy")).unwrap();
    let ctx = Context::builder().threads(1).build().unwrap();
    let err = eval_to_file(
        &ctx,
        "x + 1",
        &[("z", &small), ("y", &small)],
        dir.path().join("q.npy"),
        None,
        &OutputOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.message()
            .contains("unknown name 'x' (bind it to a file with x=FILE; bound: y, z)"),
        "{err}"
    );
    assert!(!dir.path().join("q.npy").exists());
}
