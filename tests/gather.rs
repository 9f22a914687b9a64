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
         ('>i4', '>i4'), ('S3', '<i8'), ('>U2', '>f4'), ('|b1', 'S2'), ('<c8', '<U3'), ('S1', '>f2'),
         ('>c16', 'S4'), ('>u8', '>U1'), ('|i1', 'S2'), ('<U7', '|u1'), ('S30', '<f8')]
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
np.save(d + '/v.npy', np.zeros((4, 6), 'V3'))
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
            &["concat", "a.npy", "v.npy", "-o", "o.npy"],
            &["v.npy", "no common dtype"],
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

/// A C-order float64 `.npy` of `shape` holding 0, 1, 2, …
fn arange_f64(path: &Path, shape: &[usize]) {
    use outcore_engine::{DType, Layout, Order, ScalarKind};
    let layout = Layout::new(DType::native(ScalarKind::F64), shape.to_vec(), Order::C).unwrap();
    let mut a = Array::create(path, layout).unwrap();
    for (i, v) in a.as_mut_slice::<f64>().unwrap().iter_mut().enumerate() {
        *v = i as f64;
    }
    a.flush().unwrap();
}

/// An int64 `.npy` index of `n` entries: a scrambled permutation of `0..n`, modulo `size`.
fn index_i64(path: &Path, n: usize, size: usize) {
    use outcore_engine::{DType, Layout, Order, ScalarKind};
    let layout = Layout::new(DType::native(ScalarKind::I64), vec![n], Order::C).unwrap();
    let mut a = Array::create(path, layout).unwrap();
    for (i, v) in a.as_mut_slice::<i64>().unwrap().iter_mut().enumerate() {
        *v = ((i * 7919) % n % size) as i64;
    }
    a.flush().unwrap();
}

/// A bool `.npy` of `n` entries, every third true.
fn every_third(path: &Path, n: usize) {
    use outcore_engine::{DType, Layout, Order, ScalarKind};
    let layout = Layout::new(DType::native(ScalarKind::Bool), vec![n], Order::C).unwrap();
    let mut a = Array::create(path, layout).unwrap();
    for (i, v) in a.data_mut().unwrap().iter_mut().enumerate() {
        *v = u8::from(i % 3 == 0);
    }
    a.flush().unwrap();
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// One job of the mid-job tests: which input, the memory budget, and what runs.
struct MidJob {
    name: &'static str,
    memory: usize,
    /// Files (name, kind, shape) made before the job.
    files: &'static [(&'static str, &'static str, &'static [usize])],
    /// A phase only this path runs (which gather ran).
    path_phase: &'static str,
    /// The job's last pass, the one that writes the output.
    last_pass: &'static str,
}

const MID_JOBS: [MidJob; 5] = [
    // Source rows of 32 KiB over windows of 64 KiB: the long-row gather.
    MidJob {
        name: "take long rows",
        memory: 256 << 10,
        files: &[("a.npy", "f8", &[16, 4096]), ("i.npy", "i8", &[1024, 16])],
        path_phase: "list rows",
        last_pass: "take",
    },
    // 512 KiB of float64 over windows of 64 KiB: the bucketed gather.
    MidJob {
        name: "take bucketed",
        memory: 256 << 10,
        files: &[("a.npy", "f8", &[65536]), ("i.npy", "i8", &[65536, 65536])],
        path_phase: "count",
        last_pass: "scatter",
    },
    // The whole source in a quarter of the budget: the resident gather.
    MidJob {
        name: "take resident",
        memory: 64 << 20,
        files: &[("a.npy", "f8", &[65536]), ("i.npy", "i8", &[65536, 65536])],
        path_phase: "take",
        last_pass: "take",
    },
    // Rows of 32 KiB, longer than a chunk: selected one by one, in pieces.
    MidJob {
        name: "mask long rows",
        memory: 256 << 10,
        files: &[("a.npy", "f8", &[64, 4096]), ("i.npy", "b1", &[64])],
        path_phase: "mask",
        last_pass: "mask",
    },
    MidJob {
        name: "mask",
        memory: 256 << 10,
        files: &[("a.npy", "f8", &[65536]), ("i.npy", "b1", &[65536])],
        path_phase: "mask",
        last_pass: "mask",
    },
];

fn make_files(d: &Path, job: &MidJob) {
    for (name, kind, shape) in job.files {
        let p = d.join(name);
        match *kind {
            "f8" => arange_f64(&p, shape),
            "i8" => index_i64(&p, shape[0], shape[1]),
            _ => every_third(&p, shape[0]),
        }
    }
}

fn run_mid_job(ctx: &Context, d: &Path, job: &MidJob) -> outcore_engine::Result<Array> {
    let a = Array::open(d.join("a.npy")).unwrap();
    let i = Array::open(d.join("i.npy")).unwrap();
    let opts = OutputOptions::default();
    if job.name.starts_with("take") {
        gather::take(ctx, &a, &i, Some(0), d.join("o.npy"), &opts)
    } else {
        gather::mask(ctx, &a, &i, d.join("o.npy"), &opts)
    }
}

/// An input truncated by someone else while a job runs — the index after take's check pass,
/// the source after the passes that only read the index or mask — is an `InputChanged` error
/// naming it, never a SIGBUS or garbage, and the job leaves nothing behind. Each of take's
/// three gathers and both of mask's row sizes.
#[test]
fn an_input_truncated_mid_job_is_an_error_not_a_crash() {
    use std::sync::{Arc, Mutex};
    // (job, file cut, the phase after which it is cut)
    let cuts = [
        (0, "i.npy", "check index"),
        (0, "a.npy", "list rows"),
        (1, "i.npy", "check index"),
        (1, "a.npy", "partition"),
        (2, "i.npy", "check index"),
        (3, "a.npy", "count"),
        (4, "a.npy", "count"),
    ];
    for (j, file, after) in cuts {
        let job = &MID_JOBS[j];
        let dir = scratch();
        let d = dir.path().to_path_buf();
        make_files(&d, job);
        let before = names_in(&d);
        let phases = Arc::new(Mutex::new(Vec::<String>::new()));
        let (seen, cut) = (phases.clone(), d.join(file));
        let ctx = Context::builder()
            .threads(2)
            .memory(job.memory)
            .chunk_bytes(4096)
            .progress(move |p| {
                let mut seen = seen.lock().unwrap();
                if seen.last().map(String::as_str) != Some(p.phase) {
                    seen.push(p.phase.to_string());
                }
                if p.phase == after && p.done == p.total {
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(&cut)
                        .unwrap()
                        .set_len(4096)
                        .unwrap();
                }
            })
            .build()
            .unwrap();
        let e = run_mid_job(&ctx, &d, job)
            .err()
            .unwrap_or_else(|| panic!("{}: cutting {file} went unnoticed", job.name));
        assert_eq!(e.kind(), ErrorKind::InputChanged, "{}: {e}", job.name);
        assert!(e.to_string().contains(file), "{}: {e}", job.name);
        let phases = phases.lock().unwrap();
        assert!(
            phases.iter().any(|p| p == job.path_phase),
            "{}: {phases:?}",
            job.name
        );
        assert_eq!(names_in(&d), before, "{}: nothing left behind", job.name);
    }
}

/// Cancelled in the middle of its last pass (Ctrl-C), each job stops with `Cancelled` and
/// leaves nothing behind; the same job uncancelled gives the right values.
#[test]
fn a_cancelled_job_leaves_nothing_behind() {
    use outcore_engine::CancelToken;
    for job in &MID_JOBS {
        let dir = scratch();
        let d = dir.path().to_path_buf();
        make_files(&d, job);
        let before = names_in(&d);
        let token = CancelToken::new();
        let (t, last) = (token.clone(), job.last_pass);
        let ctx = Context::builder()
            .threads(2)
            .memory(job.memory)
            .chunk_bytes(4096)
            .cancel_token(token)
            .progress(move |p| {
                if p.phase == last && p.done > 0 && p.done < p.total {
                    t.cancel();
                }
            })
            .build()
            .unwrap();
        let e = run_mid_job(&ctx, &d, job).err().expect("cancelled");
        assert_eq!(e.kind(), ErrorKind::Cancelled, "{}: {e}", job.name);
        assert_eq!(names_in(&d), before, "{}: nothing left behind", job.name);

        let ctx = Context::builder()
            .threads(2)
            .memory(job.memory)
            .chunk_bytes(4096)
            .build()
            .unwrap();
        let got = run_mid_job(&ctx, &d, job).unwrap();
        let (n, row) = (
            job.files[0].2[0],
            job.files[0].2[1..].iter().product::<usize>(),
        );
        let rows: Vec<usize> = if job.name.starts_with("take") {
            let (m, size) = (job.files[1].2[0], job.files[1].2[1]);
            (0..m).map(|i| (i * 7919) % m % size).collect()
        } else {
            (0..n).filter(|i| i % 3 == 0).collect()
        };
        let want: Vec<f64> = rows
            .iter()
            .flat_map(|&r| (r * row..(r + 1) * row).map(|v| v as f64))
            .collect();
        assert_eq!(got.to_vec::<f64>().unwrap(), want, "{}", job.name);
    }
}

/// Numbers joined with strings are written as NumPy 2 writes them (`str()` of each scalar:
/// shortest round-trip digits, positional or scientific by NumPy's cut-offs per float size):
/// every float16, random bit patterns of float32 and float64 (NaNs, infinities, subnormals),
/// decimals across magnitudes, complex numbers and integers at their extremes, in both byte
/// orders and both memory orders.
#[test]
fn numbers_joined_with_strings_read_as_numpy_writes_them() {
    require_numpy!();
    let dir = scratch();
    let d = dir.path();
    python(
        r#"
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
bits = lambda dt, n: rng.integers(0, 256, size=n * np.dtype(dt).itemsize, dtype=np.uint8).view(dt)
scaled = rng.standard_normal(20000) * 10.0 ** rng.integers(-12, 24, 20000)
decimals = np.array([round(v, int(p)) for v, p in zip(scaled, rng.integers(0, 6, 20000))])
special = np.array([0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-4, 9.999e-5, 1e3, 999.9, 1e6, 999999.0,
                    1e16, 9999999999999998.0, 65504.0, 5.96e-8, 2.0**-1074, 1.7976931348623157e308])
numbers = {
    'f2': np.arange(65536, dtype='u2').view('<f2'),
    'f4': np.concatenate([bits('<f4', 30000), decimals.astype('f4'), special.astype('f4')]),
    'f8': np.concatenate([bits('<f8', 30000), decimals, special]),
    'c8': (decimals[:10000] + 1j * decimals[10000:]).astype('<c8'),
    'c16': np.concatenate([bits('<c16', 5000), np.array([complex(a, b) for a in special for b in special])]),
    'i8': np.array([-2**63, 2**63 - 1, 0, -1, 12345], '<i8'),
    'u8': np.array([2**64 - 1, 0, 7], '<u8'),
    'i1': np.array([-128, 127, 0], 'i1'),
    'b1': np.array([True, False]),
}
i = 0
for name, a in numbers.items():
    for kind in 'SU':
        i += 1
        s = np.array(['x'], dtype=kind + '1')
        if i % 2:
            a = a.astype(a.dtype.newbyteorder('>'))
        if name == 'f8' and kind == 'U':
            a = np.asfortranarray(np.resize(a, (2, a.size // 2)))
            s = np.array([['x'], ['y']], dtype='U1')
        np.save('%s/n%d.npy' % (d, i), a)
        np.save('%s/s%d.npy' % (d, i), s)
        np.save('%s/want%d.npy' % (d, i), np.concatenate([s, a] if a.ndim == 1 else [s, a], axis=-1))
print(i)
"#,
        &[d],
    );
    let count: usize = 18;
    let ctx = roomy();
    for i in 1..=count {
        let s = Array::open(d.join(format!("s{i}.npy"))).unwrap();
        let n = Array::open(d.join(format!("n{i}.npy"))).unwrap();
        gather::concat(
            &ctx,
            &[&s, &n],
            -1,
            false,
            d.join(format!("got{i}.npy")),
            &OutputOptions::default(),
        )
        .unwrap();
    }
    let report = python(
        r#"
import sys, numpy as np
d = sys.argv[1]
bad = []
for i in range(1, 19):
    g, w = np.load('%s/got%d.npy' % (d, i)), np.load('%s/want%d.npy' % (d, i))
    if g.dtype != w.dtype or g.shape != w.shape:
        bad.append('%d: %s %s vs %s %s' % (i, g.dtype, g.shape, w.dtype, w.shape))
        continue
    diff = np.flatnonzero(g.ravel() != w.ravel())
    if diff.size:
        bad.append('%d: %d differ, e.g. %r vs %r' % (i, diff.size, g.ravel()[diff[0]], w.ravel()[diff[0]]))
print(len(bad))
print('\n'.join(bad))
"#,
        &[d],
    );
    assert!(report.starts_with("0\n"), "differs from NumPy:\n{report}");
}

/// The out-of-core take proof (`benches/take_cgroup.sh`): a random permutation of data 8× the
/// budget is gathered inside a memory cgroup of the budget plus a margin, with resident
/// anonymous memory under the budget, a result equal to NumPy's, and NumPy's in-memory
/// `np.take` killed under the same limit. Needs root and a release build.
#[test]
#[ignore = "needs root for a memory cgroup and a release build; run with --ignored"]
fn take_of_data_8x_the_budget_stays_in_a_memory_cgroup() {
    let Some(text) = crate::util::run_cgroup_script("benches/take_cgroup.sh") else {
        return;
    };
    assert!(text.contains("outcore take: exit=0") && !text.contains("FAILED"));
    assert!(text.contains("equal to NumPy's np.take"), "{text}");
}
