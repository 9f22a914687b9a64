//! Transposing a square float64 matrix into a new `.npy` file, next to the machine's floor for
//! the same bytes: reading the input sequentially (`pread` into a reused buffer) and writing
//! it to a new file (then `fsync`, as outcore's commit does). The transpose must read the
//! input in strips and write its output in rows, so the ratio shows what tiling costs.
//!
//! Side of the matrix: `OUTCORE_BENCH_SIDE` (default 8192, i.e. 512 MiB; 16384 is the 2 GiB
//! case of the spec). Every element of the result is checked after timing.

use std::fs::File;
use std::hint::black_box;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use outcore::kernels::copy;
use outcore::kernels::gen::{generate, Fill};
use outcore::{Array, Context, DType, Layout, Order, OutputOptions, ScalarKind};

fn side() -> usize {
    std::env::var("OUTCORE_BENCH_SIDE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8192)
}

/// The floor: a sequential read of `input` and a write of as many bytes to a new file.
fn read_then_write(input: &Path, output: &Path) -> u64 {
    let src = File::open(input).unwrap();
    let mut dst = File::create(output).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut off = 0u64;
    loop {
        let n = src.read_at(&mut buf, off).unwrap();
        if n == 0 {
            break;
        }
        dst.write_all(black_box(&buf[..n])).unwrap();
        off += n as u64;
    }
    dst.sync_all().unwrap();
    off
}

fn check_transpose(a: &Array, t: &Array, n: usize) {
    let (a, t) = (a.as_slice::<f64>().unwrap(), t.as_slice::<f64>().unwrap());
    const B: usize = 64;
    for i0 in (0..n).step_by(B) {
        for j0 in (0..n).step_by(B) {
            for i in i0..(i0 + B).min(n) {
                for j in j0..(j0 + B).min(n) {
                    assert_eq!(
                        t[j * n + i].to_bits(),
                        a[i * n + j].to_bits(),
                        "t[{j}, {i}]"
                    );
                }
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let n = side();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("a.npy");
    let ctx = Context::new().unwrap();
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![n, n], Order::C).unwrap();
    generate(
        &ctx,
        &input,
        &layout,
        Fill::Random,
        1,
        &OutputOptions::default(),
    )
    .unwrap();
    let bytes = (n * n * 8) as u64;
    let a = Array::open(&input).unwrap();
    let dest = dir.path().join("t.npy");
    let replace = OutputOptions {
        force: true,
        inputs: vec![input.clone()],
        ..Default::default()
    };

    let mut group = c.benchmark_group(format!("transpose_{n}x{n}_f8"));
    group.throughput(Throughput::Bytes(bytes));
    group.sample_size(10);
    let floor_out = dir.path().join("floor.bin");
    group.bench_function("floor_read_then_write", |b| {
        b.iter(|| read_then_write(&input, &floor_out))
    });
    std::fs::remove_file(&floor_out).unwrap();
    group.bench_function("outcore_transpose", |b| {
        b.iter(|| copy::transpose(&ctx, black_box(&a), None, &dest, &replace).unwrap())
    });
    group.finish();

    let t = Array::open(&dest).unwrap();
    assert_eq!(t.shape(), &[n, n]);
    check_transpose(&a, &t, n);
}

criterion_group!(benches, bench);
criterion_main!(benches);
