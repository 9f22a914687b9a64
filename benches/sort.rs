//! The sort kernel's two halves, each as bytes per second: run formation (the in-memory radix
//! sort of one run of float64 keys) and the k-way merge (16 sorted runs, serial and split
//! across threads by splitter search); then whole sorts of a float64 `.npy` file that fits the
//! budget and one 8× over it (external, spilled and merged). Results are checked after timing.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use outcore::kernels::gen::{generate, Fill};
use outcore::kernels::sort::{
    sort, sort_records, split_points, Canon, Merger, SortKey, SortOptions,
};
use outcore::{Array, CancelToken, Context, DType, Layout, Order, OutputOptions, ScalarKind};
use rayon::prelude::*;

const RUN: usize = 4 << 20; // keys per run (32 MiB)
const RUNS: usize = 16;
const PER_RUN: usize = 1 << 20;

/// Deterministic float64 keys (xorshift), encoded for sorting.
fn keys(n: usize, seed: u64) -> Vec<u64> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0).encode(false)
        })
        .collect()
}

fn is_sorted(v: &[u64]) -> bool {
    v.windows(2).all(|w| w[0] <= w[1])
}

fn run_formation(c: &mut Criterion) {
    let data = keys(RUN, 1);
    let mut g = c.benchmark_group("sort/run_formation");
    g.throughput(Throughput::Bytes((RUN * 8) as u64));
    g.sample_size(10);
    let cancel = CancelToken::new();
    let mut last = Vec::new();
    g.bench_function("radix_f64_32MiB", |b| {
        b.iter_batched_ref(
            || (data.clone(), vec![0u64; RUN]),
            |(d, s)| {
                sort_records(d, s, &cancel).unwrap();
                black_box(d[0]);
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
    last.extend_from_slice(&data);
    sort_records(&mut last, &mut vec![0u64; RUN], &cancel).unwrap();
    assert!(is_sorted(&last));
}

fn merge(c: &mut Criterion) {
    let runs: Vec<Vec<u64>> = (0..RUNS)
        .map(|i| {
            let mut r = keys(PER_RUN, 100 + i as u64);
            r.sort_unstable();
            r
        })
        .collect();
    let slices: Vec<&[u64]> = runs.iter().map(|r| r.as_slice()).collect();
    let total = RUNS * PER_RUN;
    let mut out = vec![0u64; total];
    let mut g = c.benchmark_group("sort/merge");
    g.throughput(Throughput::Bytes((total * 8) as u64));
    g.sample_size(10);
    g.bench_function("loser_tree_16_runs_serial", |b| {
        b.iter(|| {
            let mut m = Merger::new(slices.clone(), Canon::default());
            assert_eq!(m.fill(&mut out), total);
        })
    });
    assert!(is_sorted(&out));
    out.iter_mut().for_each(|v| *v = 0);
    let parts = rayon::current_num_threads() * 4;
    g.bench_function("loser_tree_16_runs_parallel", |b| {
        b.iter(|| {
            let bounds: Vec<usize> = (0..=parts).map(|i| total * i / parts).collect();
            let cuts: Vec<Vec<usize>> = bounds
                .par_iter()
                .map(|&r| split_points(&slices, r, &Canon::default()))
                .collect();
            let mut pieces: Vec<&mut [u64]> = Vec::new();
            let mut rest = &mut out[..];
            for w in bounds.windows(2) {
                let (a, b) = rest.split_at_mut(w[1] - w[0]);
                pieces.push(a);
                rest = b;
            }
            pieces.into_par_iter().enumerate().for_each(|(i, dst)| {
                let parts: Vec<&[u64]> = (0..RUNS)
                    .map(|r| &slices[r][cuts[i][r]..cuts[i + 1][r]])
                    .collect();
                let mut m = Merger::new(parts, Canon::default());
                assert_eq!(m.fill(dst), dst.len());
            });
        })
    });
    g.finish();
    assert!(is_sorted(&out));
}

fn whole_sorts(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let n = 16usize << 20; // 128 MiB of float64
    let path = dir.path().join("in.npy");
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![n], Order::C).unwrap();
    let gen_ctx = Context::builder().memory(256 << 20).build().unwrap();
    generate(
        &gen_ctx,
        &path,
        &layout,
        Fill::Normal,
        7,
        &OutputOptions::default(),
    )
    .unwrap();
    let input = Array::open(&path).unwrap();
    let mut g = c.benchmark_group("sort/file_f64_128MiB");
    g.throughput(Throughput::Bytes((n * 8) as u64));
    g.sample_size(10);
    let opts = SortOptions {
        output: OutputOptions::default().force(true),
        ..Default::default()
    };
    let dest = dir.path().join("out.npy");
    for (name, mem) in [
        ("fits_budget_1GiB", 1usize << 30),
        ("external_budget_16MiB", 16 << 20),
    ] {
        let ctx = Context::builder().memory(mem).build().unwrap();
        g.bench_function(name, |b| {
            b.iter(|| sort(&ctx, &input, &dest, &opts).unwrap())
        });
        let out = Array::open(&dest).unwrap();
        let v = out.as_slice::<f64>().unwrap();
        assert_eq!(v.len(), n);
        assert!(
            v.windows(2).all(|w| w[0] <= w[1]),
            "{name}: output not sorted"
        );
    }
    g.finish();
}

criterion_group!(benches, run_formation, merge, whole_sorts);
criterion_main!(benches);
