//! take / mask / concat (and stack) against NumPy: every dtype (bool, all int/uint/float sizes,
//! complex, strings, structured), C and F inputs, both byte orders, any index dtype, negative
//! indices, every axis, empty results; each case under a roomy and a tight budget (the tight one
//! forces the bucketed and long-row gathers); errors with exit 2 that name the file and, for an
//! index out of range, its flat position, with nothing left behind.

use crate::require_numpy;
use crate::util::{code, outcore_in, stderr};
use std::path::Path;

use outcore_engine::{Array, Context, ErrorKind, OutputOptions};
use outcore_kernels::gather;
use serde_json::Value;

use crate::copy::python;
use crate::eval::fast_tempdir as scratch;

/// Small chunks on three threads, with room for every source in memory.
fn roomy() -> Context {
    Context::builder()
        .threads(3)
        .memory(64 << 20)
        .chunk_bytes(4096)
        .build()
        .unwrap()
}

/// The smallest budget: sources over 64 KiB are gathered in windows (bucketed), rows over
/// 32 KiB one by one.
fn tight() -> Context {
    Context::builder()
        .threads(3)
        .memory(256 << 10)
        .chunk_bytes(4096)
        .build()
        .unwrap()
}

/// Writes inputs and NumPy's results for every case into the directory, and `cases.json`.
const GENERATE: &str = r#"
import json, sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(20261204)
rec = np.dtype([('a', '<i4'), ('b', '>f8'), ('c', 'S3')])
small = ['|b1', '|i1', '|u1', '<i2', '>i2', '<i4', '>i4', '<i8', '>i8', '<u2', '>u2', '<u4', '>u4',
         '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8', '<c8', '>c8', '<c16', '>c16', 'S5',
         '<U3', '>U2', 'V3', rec]
# Large enough that the tight budget gathers in windows (and (30, 5000) float64 rows one by one).
big = ['<f8', '>i2', '>c16', '<U3', rec, '|b1']
index_dtypes = ['<i8', '>i4', '|i1', '<u2', '>u8', '<i2', '|u1', '>i8']
cases = []
count = [0]

def make(dt, shape, order):
    dt = np.dtype(dt)
    n = int(np.prod(shape))
    if dt.kind == 'b':
        a = rng.integers(0, 2, size=n).astype(dt)
    elif dt.kind in 'iu':
        a = rng.integers(0, 256 ** min(dt.itemsize, 7), size=n, dtype=np.uint64).astype(dt)
    elif dt.kind == 'f':
        a = (rng.standard_normal(n) * 100).astype(dt)
    elif dt.kind == 'c':
        a = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
    elif dt.kind == 'U':
        a = np.array([''.join(chr(65 + int(x)) for x in rng.integers(0, 50, size=dt.itemsize // 4)) for _ in range(n)], dtype=dt)
    elif dt.kind == 'S':
        a = np.array([bytes(65 + int(x) for x in rng.integers(0, 50, size=dt.itemsize)) for _ in range(n)], dtype=dt)
    else:
        a = np.frombuffer(rng.integers(0, 256, size=n * dt.itemsize, dtype=np.uint8).tobytes(), dtype=dt)
    a = a.reshape(shape)
    return np.asfortranarray(a) if order == 'F' else np.ascontiguousarray(a)

def save(a):
    count[0] += 1
    p = '%s/in%d.npy' % (d, count[0])
    np.save(p, a)
    return p

def expect(op, inputs, out, **kw):
    cases.append(dict(op=op, inputs=inputs, expect=save(out), **kw))

def index_for(size, shape):
    idt = np.dtype(index_dtypes[count[0] % len(index_dtypes)])
    lo = 0 if idt.kind == 'u' else -size
    hi = min(size, np.iinfo(idt).max + 1)
    lo = max(lo, np.iinfo(idt).min)
    idx = rng.integers(lo, hi, size=shape).astype(idt) if hi > lo else np.zeros(shape, idt)
    if len(shape) > 1 and rng.integers(0, 2):
        idx = np.asfortranarray(idx)
    return idx

def cover(dt, shape, idx_len):
    for order in 'CF':
        a = make(dt, shape, order)
        pa = save(a)
        for axis in [None] + list(range(-1, a.ndim)):
            size = a.size if axis is None else a.shape[axis]
            ishape = (idx_len,) if rng.integers(0, 2) else (3, idx_len // 3)
            idx = index_for(size, ishape)
            expect('take', [pa, save(idx)], np.take(a, idx, axis=axis), axis=axis)
        for k in range(a.ndim + 1):
            m = rng.random(a.shape[:k]) < 0.4
            if k > 1 and rng.integers(0, 2):
                m = np.asfortranarray(m)
            expect('mask', [pa, save(m)], a[np.asarray(m)])
        other = 'C' if order == 'F' else 'F'
        b = make(dt, (a.shape[0], 3) + a.shape[2:], other)
        expect('concat', [pa, save(b), pa], np.concatenate([a, b, a], axis=1), axis=1, stack=False)
        c = make(dt, a.shape, other)
        pc = save(c)
        expect('concat', [pa, pc], np.concatenate([a, c]), axis=0, stack=False)
        expect('concat', [pa, pa], np.stack([a, a], axis=-1), axis=-1, stack=True)
        expect('concat', [pa, pc], np.stack([a, c], axis=1), axis=1, stack=True)

for dt in small:
    cover(dt, (6, 5, 4), 12)
for dt in big:
    cover(dt, (60, 50, 40), 90)
for dt in ['<f8', '>u4']:
    cover(dt, (30, 5000), 48)

# Promotion across dtypes, orders and byte orders.
pairs = [('|b1', '>i2'), ('<u1', '|i1'), ('>u8', '<i8'), ('<i2', '>f2'), ('>c8', '<f8'),
         ('<f4', '>i4'), ('|b1', '<c8'), ('>u2', '<f4'), ('S3', '>U2'), ('S2', 'S7'), ('>U4', '<U2'),
         ('>i4', '>i4')]
for x, y in pairs:
    a, b = make(x, (4, 3), 'C'), make(y, (5, 3), 'F')
    expect('concat', [save(a), save(b)], np.concatenate([a, b]), axis=0, stack=False)
    expect('concat', [save(a[:3]), save(b[:3])], np.stack([a[:3], b[:3]]), axis=0, stack=True)

# Empty results and empty inputs.
a = make('<f8', (4, 3), 'C'); pa = save(a)
z = np.zeros(0, '<i8')
expect('take', [pa, save(z)], np.take(a, z), axis=None)
expect('take', [pa, save(z.reshape(0, 2))], np.take(a, z.reshape(0, 2), axis=1), axis=1)
e = make('>i4', (0, 3), 'C'); pe = save(e)
expect('take', [pe, save(np.array([1, -1]))], np.take(e, [1, -1], axis=1), axis=1)
expect('mask', [pa, save(np.zeros(4, bool))], a[np.zeros(4, bool)])
expect('mask', [pe, save(np.zeros(0, bool))], e[np.zeros(0, bool)])
expect('concat', [pe, pa, pe], np.concatenate([e, a, e]), axis=0, stack=False)
expect('concat', [pe, pe], np.stack([e, e], axis=2), axis=2, stack=True)
s = np.array(3.5)
expect('take', [save(s), save(np.array([0, -1, 0]))], np.take(s, [0, -1, 0]), axis=None)
expect('mask', [save(s), save(np.array(True))], s[np.array(True)])
json.dump(cases, open(d + '/cases.json', 'w'))
"#;

/// Checks every (output, expected) pair: same shape, same kind and size of dtype (NumPy may
/// give native byte order where we keep the input's), same bytes once in NumPy's dtype.
const VERIFY: &str = r#"
import json, sys
import numpy as np
bad = []
for got, want in json.load(open(sys.argv[1])):
    g, e = np.load(got), np.load(want)
    same = (g.shape == e.shape and g.dtype.kind == e.dtype.kind and g.dtype.itemsize == e.dtype.itemsize
            and np.ascontiguousarray(g.astype(e.dtype)).tobytes() == np.ascontiguousarray(e).tobytes())
    if not same:
        bad.append('%s %s %s vs %s %s %s' % (got, g.dtype, g.shape, want, e.dtype, e.shape))
print(len(bad))
for b in bad[:20]:
    print(b)
"#;

fn run_case(ctx: &Context, case: &Value, out: &Path) -> outcore_engine::Result<Array> {
    let inputs: Vec<Array> = case["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Array::open(p.as_str().unwrap()).unwrap())
        .collect();
    let axis = case["axis"].as_i64().map(|a| a as isize);
    let opts = OutputOptions::default();
    match case["op"].as_str().unwrap() {
        "take" => gather::take(ctx, &inputs[0], &inputs[1], axis, out, &opts),
        "mask" => gather::mask(ctx, &inputs[0], &inputs[1], out, &opts),
        "concat" => {
            let refs: Vec<&Array> = inputs.iter().collect();
            let stack = case["stack"].as_bool().unwrap();
            gather::concat(ctx, &refs, axis.unwrap(), stack, out, &opts)
        }
        op => panic!("unknown op {op}"),
    }
}

#[test]
fn every_dtype_order_and_axis_matches_numpy() {
    require_numpy!();
    let dir = scratch();
    let d = dir.path();
    python(GENERATE, &[d]);
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(d.join("cases.json")).unwrap()).unwrap();
    assert!(cases.len() > 500, "{} cases", cases.len());
    let mut pairs = Vec::new();
    for (name, ctx) in [("roomy", roomy()), ("tight", tight())] {
        for (i, case) in cases.iter().enumerate() {
            let out = d.join(format!("out_{name}_{i}.npy"));
            let got = run_case(&ctx, case, &out)
                .unwrap_or_else(|e| panic!("{name} case {i} {case}: {e}"));
            assert!(got.order() == outcore_engine::Order::C || got.layout().is_c_contiguous());
            pairs.push((out.display().to_string(), case["expect"].as_str().unwrap()));
        }
    }
    let list = d.join("pairs.json");
    std::fs::write(&list, serde_json::to_string(&pairs).unwrap()).unwrap();
    let report = python(VERIFY, &[&list]);
    assert!(
        report.starts_with("0\n"),
        "outputs differ from NumPy:\n{report}"
    );
}

/// The command line with `--mem 1M --chunk 4096`: a random permutation and an index with
/// repeats and negatives of a 2.4 MB array (windows of 256 KiB), along the flattened input
/// and an axis, against NumPy.
#[test]
fn cli_take_under_a_small_budget_matches_numpy() {
    require_numpy!();
    let dir = scratch();
    let d = dir.path();
    python(
        r#"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(5)
a = rng.standard_normal(300000)
np.save(d + '/a.npy', a)
np.save(d + '/perm.npy', rng.permutation(300000).astype('>i4'))
np.save(d + '/rep.npy', rng.integers(-300000, 300000, size=(700, 500)))
b = np.asfortranarray(rng.integers(0, 60000, size=(300, 4000)).astype('<u2'))
np.save(d + '/b.npy', b)
np.save(d + '/cols.npy', rng.integers(-4000, 4000, size=5000).astype('<i2'))
keep = rng.random(300) < 0.5
np.save(d + '/keep.npy', keep)
"#,
        &[d],
    );
    let small = ["--mem", "1M", "--chunk", "4096", "--threads", "3"];
    let jobs: [&[&str]; 5] = [
        &["take", "a.npy", "perm.npy", "-o", "o1.npy"],
        &["take", "a.npy", "rep.npy", "-o", "o2.npy"],
        &["take", "b.npy", "cols.npy", "-o", "o3.npy", "--axis", "-1"],
        &["mask", "b.npy", "keep.npy", "-o", "o4.npy"],
        &["concat", "b.npy", "b.npy", "-o", "o5.npy", "--axis", "1"],
    ];
    for job in jobs {
        let args: Vec<&str> = job.iter().chain(small.iter()).copied().collect();
        let out = outcore_in(d, &args);
        assert_eq!(code(&out), 0, "{args:?}: {}", stderr(&out));
    }
    let report = python(
        r#"
import sys, numpy as np
d = sys.argv[1]
L = lambda n: np.load(d + '/' + n)
a, b = L('a.npy'), L('b.npy')
ok = [np.array_equal(L('o1.npy'), np.take(a, L('perm.npy'))),
      np.array_equal(L('o2.npy'), np.take(a, L('rep.npy'))),
      np.array_equal(L('o3.npy'), np.take(b, L('cols.npy'), axis=-1)),
      np.array_equal(L('o4.npy'), b[L('keep.npy')]),
      np.array_equal(L('o5.npy'), np.concatenate([b, b], axis=1))]
print(ok)
"#,
        &[d],
    );
    assert_eq!(report.trim(), "[True, True, True, True, True]");
}

/// Bad input: exit 2, the file named, an out-of-range index's flat position (C order, also
/// for an F-ordered index), and no output or temporary file left behind.
#[test]
fn bad_input_is_exit_2_naming_the_file_and_leaves_nothing() {
    require_numpy!();
    let dir = scratch();
    let d = dir.path();
    python(
        r#"
import sys, numpy as np
d = sys.argv[1]
np.save(d + '/a.npy', np.arange(24.0).reshape(4, 6))
idx = np.zeros((3, 5), '>i8'); idx[2, 1] = -25; idx[1, 3] = 24
np.save(d + '/far.npy', idx)
f = np.zeros((3, 5), '<i4'); f[1, 2] = 6
np.save(d + '/f.npy', np.asfortranarray(f))
np.save(d + '/float.npy', np.zeros(3))
np.save(d + '/m.npy', np.ones(6, bool))
np.save(d + '/mi.npy', np.ones(4, 'i1'))
np.save(d + '/b.npy', np.zeros((4, 5)))
np.save(d + '/s.npy', np.zeros((4, 6), 'S2'))
"#,
        &[d],
    );
    let cases: [(&[&str], &[&str]); 10] = [
        (
            &["take", "a.npy", "far.npy", "-o", "o.npy"],
            &["far.npy", "index 24 at position 8", "size 24"],
        ),
        (
            &["take", "a.npy", "f.npy", "-o", "o.npy", "--axis", "1"],
            &["f.npy", "index 6 at position 7", "axis 1 with size 6"],
        ),
        (
            &["take", "a.npy", "float.npy", "-o", "o.npy"],
            &["float.npy", "integer"],
        ),
        (
            &["take", "a.npy", "f.npy", "-o", "o.npy", "--axis", "2"],
            &["a.npy", "axis 2"],
        ),
        (
            &["mask", "a.npy", "m.npy", "-o", "o.npy"],
            &["m.npy", "leading part"],
        ),
        (
            &["mask", "a.npy", "mi.npy", "-o", "o.npy"],
            &["mi.npy", "bool"],
        ),
        (
            &["concat", "a.npy", "b.npy", "-o", "o.npy"],
            &["b.npy", "along dimension 1"],
        ),
        (
            &["concat", "a.npy", "b.npy", "-o", "o.npy", "--stack"],
            &["b.npy", "same shape"],
        ),
        (
            &["concat", "a.npy", "s.npy", "-o", "o.npy"],
            &["s.npy", "no common dtype"],
        ),
        (
            &["concat", "a.npy", "a.npy", "-o", "o.npy", "--axis", "-3"],
            &["a.npy", "axis -3"],
        ),
    ];
    let before: Vec<_> = std::fs::read_dir(d).unwrap().collect();
    for (args, wants) in cases {
        let out = outcore_in(d, args);
        let err = stderr(&out);
        assert_eq!(code(&out), 2, "{args:?}: {err}");
        for want in wants {
            assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
        }
        assert!(!d.join("o.npy").exists(), "{args:?} left its output");
    }
    assert_eq!(std::fs::read_dir(d).unwrap().count(), before.len());
}

/// The library's errors carry their kind and file.
#[test]
fn library_errors_have_kinds_and_paths() {
    let dir = scratch();
    let d = dir.path();
    let ctx = roomy();
    let opts = OutputOptions::default();
    let a = Array::from_vec((0..12).map(f64::from).collect(), &[3, 4]).unwrap();
    let idx = Array::from_vec(vec![0i64, 3, -5], &[3]).unwrap();
    let e = gather::take(&ctx, &a, &idx, Some(1), d.join("o.npy"), &opts)
        .err()
        .expect("an error");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("index -5 at position 2"), "{e}");
    let ok = gather::take(&ctx, &a, &idx, None, d.join("t.npy"), &opts).unwrap();
    assert_eq!(ok.to_vec::<f64>().unwrap(), vec![0.0, 3.0, 7.0]);
    let e = gather::concat(&ctx, &[], 0, false, d.join("c.npy"), &opts)
        .err()
        .expect("an error");
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let m = Array::from_vec(vec![1.0f64, 0.0, 1.0], &[3]).unwrap();
    let e = gather::mask(&ctx, &a, &m, d.join("m.npy"), &opts)
        .err()
        .expect("an error");
    assert_eq!(e.kind(), ErrorKind::UnsupportedDType);
    assert!(!d.join("o.npy").exists() && !d.join("m.npy").exists());
}
