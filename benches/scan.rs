//! The chunked, parallel sum over a mapped file next to a plain `pread` scan of the same file
//! (the machine's floor for reading those bytes from the page cache), so the scheduler's
//! overhead shows as a ratio. Both read a cached 256 MiB float64 file; the sum's result is
//! checked after timing.

use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::FileExt;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use outcore::kernels::gen::{generate, Fill};
use outcore::kernels::reduce::{reduce_all, ReduceOp, Value};
use outcore::{Array, Context, DType, Layout, Order, OutputOptions, ScalarKind};

const N: usize = 32 << 20; // 32 Mi float64 = 256 MiB

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scan.npy");
    let ctx = Context::builder().memory(256 << 20).build().unwrap();
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![N], Order::C).unwrap();
    generate(
        &ctx,
        &path,
        &layout,
        Fill::Arange,
        0,
        &OutputOptions::default(),
    )
    .unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();

    let mut group = c.benchmark_group("scan");
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    group.bench_function("pread_floor", |b| {
        let f = File::open(&path).unwrap();
        let mut buf = vec![0u8; 1 << 20];
        b.iter(|| {
            let mut off = 0u64;
            loop {
                let n = f.read_at(&mut buf, off).unwrap();
                if n == 0 {
                    break;
                }
                black_box(&buf[..n]);
                off += n as u64;
            }
            off
        })
    });
    let array = Array::open(&path).unwrap();
    group.bench_function("outcore_sum", |b| {
        b.iter(|| reduce_all(&ctx, black_box(&array), ReduceOp::Sum).unwrap())
    });
    group.finish();

    let expected = (N as f64) * (N as f64 - 1.0) / 2.0;
    let got = reduce_all(&ctx, &array, ReduceOp::Sum).unwrap().value;
    assert_eq!(got, Value::Float(expected), "the benchmarked sum is wrong");
}

criterion_group!(benches, bench);
criterion_main!(benches);
