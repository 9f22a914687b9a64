//! `eval '2*x+1'` into a new file, whole-array `sum`, `var` and `stats` over a cached float64
//! file, next to the machine's floors measured in the same process: a `pread` scan of the
//! input (read N bytes) and a plain write of N new bytes. Results are checked after timing.
//!
//! cargo bench --bench eval   (OUTCORE_BENCH_MIB sets the input size; default 256)

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use outcore::kernels::expr::eval_to_file;
use outcore::kernels::gen::{generate, Fill};
use outcore::kernels::reduce::{reduce_all, stats, ReduceOp, Value};
use outcore::{Array, Context, DType, Layout, Order, OutputOptions, ScalarKind};

fn bench(c: &mut Criterion) {
    let mib: usize = std::env::var("OUTCORE_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let n = mib << 17; // float64 elements
    let dir = tempfile::tempdir_in(".").unwrap();
    let path = dir.path().join("x.npy");
    let out = dir.path().join("y.npy");
    let ctx = Context::builder().memory(256 << 20).build().unwrap();
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![n], Order::C).unwrap();
    generate(
        &ctx,
        &path,
        &layout,
        Fill::Arange,
        0,
        &OutputOptions::default(),
    )
    .unwrap();
    let bytes = (n * 8) as u64;
    let force = OutputOptions {
        force: true,
        ..Default::default()
    };
    let x = Array::open(&path).unwrap();

    let mut group = c.benchmark_group("eval");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("floor_pread", |b| {
        let f = File::open(&path).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        b.iter(|| {
            let mut off = 0u64;
            loop {
                let k = f.read_at(&mut buf, off).unwrap();
                if k == 0 {
                    break off;
                }
                black_box(&buf[..k]);
                off += k as u64;
            }
        })
    });
    group.bench_function("floor_write_new", |b| {
        let buf = vec![1u8; 1 << 20];
        let dest = dir.path().join("w.bin");
        b.iter(|| {
            let mut f = File::create(&dest).unwrap();
            for _ in 0..bytes / buf.len() as u64 {
                f.write_all(&buf).unwrap();
            }
            f.sync_all().unwrap();
        })
    });
    group.bench_function("eval_2x_plus_1", |b| {
        b.iter(|| eval_to_file(&ctx, "2*x+1", &[("x", &x)], &out, None, &force).unwrap())
    });
    group.bench_function("reduce_sum", |b| {
        b.iter(|| reduce_all(&ctx, black_box(&x), ReduceOp::Sum).unwrap())
    });
    group.bench_function("reduce_var", |b| {
        b.iter(|| reduce_all(&ctx, black_box(&x), ReduceOp::Var).unwrap())
    });
    group.bench_function("stats", |b| b.iter(|| stats(&ctx, black_box(&x)).unwrap()));
    group.finish();

    // Checks after timing: sum(2i+1, i < n) = n², sum(i) = n(n-1)/2, exact in float64 here.
    let nf = n as f64;
    let y = Array::open(&out).unwrap();
    assert_eq!(
        reduce_all(&ctx, &y, ReduceOp::Sum).unwrap().value,
        Value::Float(nf * nf)
    );
    assert_eq!(
        reduce_all(&ctx, &x, ReduceOp::Sum).unwrap().value,
        Value::Float(nf * (nf - 1.0) / 2.0)
    );
    let s = stats(&ctx, &x).unwrap();
    assert_eq!(
        (s.count, s.sum),
        (n as u64, Value::Float(nf * (nf - 1.0) / 2.0))
    );
    let Value::Float(var) = reduce_all(&ctx, &x, ReduceOp::Var).unwrap().value else {
        panic!("var is a float")
    };
    assert!((var - (nf * nf - 1.0) / 12.0).abs() / var < 1e-12);
}

criterion_group!(benches, bench);
criterion_main!(benches);
