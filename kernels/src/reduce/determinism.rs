//! Property tests of spec §9: every reduction, `stats`, `scan` and `histogram` give the same
//! bits whatever the thread count, the memory budget and the chunk size.

use std::path::PathBuf;

use proptest::prelude::*;

use super::fold::BLOCK;
use super::*;
use crate::histogram::histogram;
use crate::scan::{scan_to_file, ScanOp};

/// Threads {1, 2, 3, 8} × (budget, chunk): 4 MiB with page chunks, 4 MiB with its default
/// chunks, 8 MiB with 3-page chunks, the default budget with 64 MiB chunks (4 MiB: the
/// accumulators of an axis reduction with rows longer than a block, ~70 000 results, fit).
fn grid() -> Vec<Context> {
    let mut out = Vec::new();
    for threads in [1, 2, 3, 8] {
        for (mem, chunk) in [
            (Some(4 << 20), Some(4096)),
            (Some(4 << 20), None),
            (Some(8 << 20), Some(3 * 4096)),
            (None, Some(64 << 20)),
        ] {
            let mut b = Context::builder().threads(threads);
            if let Some(m) = mem {
                b = b.memory(m);
            }
            if let Some(c) = chunk {
                b = b.chunk_bytes(c);
            }
            out.push(b.build().unwrap());
        }
    }
    out
}

const KINDS: [ScalarKind; 7] = [
    ScalarKind::F64,
    ScalarKind::F32,
    ScalarKind::F16,
    ScalarKind::I32,
    ScalarKind::U8,
    ScalarKind::I64,
    ScalarKind::Bool,
];

/// Values whose sums depend on the order of additions (magnitudes over many decades), with
/// NaNs and infinities when `specials`.
fn array(kind: ScalarKind, shape: &[usize], order: Order, seed: u64, specials: bool) -> Array {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let len: usize = shape.iter().product();
    let mut bytes = Vec::with_capacity(len * kind.size());
    for _ in 0..len {
        let r = next();
        let mut v = ((r % 2001) as f64 - 1000.0) * 10f64.powi((r >> 20) as i32 % 9 - 4);
        if specials {
            v = match r >> 40 & 63 {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => v,
            };
        }
        match kind {
            ScalarKind::F64 => bytes.extend_from_slice(&v.to_ne_bytes()),
            ScalarKind::F32 => bytes.extend_from_slice(&(v as f32).to_ne_bytes()),
            ScalarKind::F16 => {
                bytes.extend_from_slice(&half::f16::from_f64(v / 100.0).to_ne_bytes())
            }
            ScalarKind::I32 => {
                bytes.extend_from_slice(&((r % 2_000_001) as i32 - 1_000_000).to_ne_bytes())
            }
            ScalarKind::I64 => bytes.extend_from_slice(&(r as i64).to_ne_bytes()),
            ScalarKind::U8 => bytes.push(r as u8),
            _ => bytes.push((r & 1) as u8),
        }
    }
    let layout = Layout::new(DType::native(kind), shape.to_vec(), order).unwrap();
    Array::from_memory(bytes, layout).unwrap()
}

fn scratch(tag: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "outcore-det-{}-{tag}-{}.npy",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Everything the array gives, as text that shows every bit (results as bytes, errors by
/// message).
fn everything(ctx: &Context, a: &Array, axes: &Option<Vec<i64>>, keepdims: bool) -> Vec<String> {
    let mut out = Vec::new();
    for op in ReduceOp::ALL {
        for ddof in [0.0, 1.0] {
            if ddof != 0.0
                && !matches!(
                    op,
                    ReduceOp::Var | ReduceOp::Std | ReduceOp::NanVar | ReduceOp::NanStd
                )
            {
                continue;
            }
            let r = reduce_axes(ctx, a, op, axes.as_deref(), keepdims, ddof);
            out.push(match r {
                Ok(r) => format!("{} {:?} {:?} {:?}", op.name(), r.layout, r.data, r.warnings),
                Err(e) => format!("{} error {}", op.name(), e.message()),
            });
        }
    }
    out.push(match stats(ctx, a) {
        Ok(s) => format!(
            "stats {:?} {:?} {:x} {:x} {:?}",
            s.count,
            s.sum.clone(),
            s.mean.to_bits(),
            s.std.to_bits(),
            (s.min, s.max, s.nan_count)
        ),
        Err(e) => format!("stats error {}", e.message()),
    });
    out.push(match histogram(ctx, a, 7, None) {
        Ok(h) => format!(
            "histogram {:?} {:?}",
            h.counts,
            h.edges.iter().map(|e| e.to_bits()).collect::<Vec<_>>()
        ),
        Err(e) => format!("histogram error {}", e.message()),
    });
    for op in [ScanOp::CumSum, ScanOp::NanCumProd] {
        let dest = scratch("scan");
        let axis = axes.as_ref().and_then(|a| a.first().copied());
        let r = scan_to_file(
            ctx,
            a,
            op,
            axis,
            &dest,
            &OutputOptions::default().sync(false),
        );
        out.push(match r {
            Ok(_) => format!("scan {:?}", std::fs::read(&dest).unwrap()),
            Err(e) => format!("scan error {}", e.message()),
        });
        let _ = std::fs::remove_file(&dest);
    }
    out
}

fn shapes() -> impl Strategy<Value = Vec<usize>> {
    prop_oneof![
        // Up to a few blocks of the fixed tree (`BLOCK` elements each).
        (1usize..5 * BLOCK).prop_map(|n| vec![n]),
        (1usize..700, 1usize..700).prop_map(|(a, b)| vec![a, b]),
        // Rows longer than a block: chunks cut rows of an axis-0 reduction.
        (1usize..4, BLOCK - 500..BLOCK + 3000).prop_map(|(a, b)| vec![a, b]),
        (1usize..30, 1usize..30, 1usize..40).prop_map(|(a, b, c)| vec![a, b, c]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn every_result_is_the_same_whatever_the_threads_budget_and_chunks(
        shape in shapes(),
        kind in 0usize..KINDS.len(),
        fortran in any::<bool>(),
        seed in any::<u64>(),
        specials in any::<bool>(),
        axes_pick in 0usize..4,
        keepdims in any::<bool>(),
    ) {
        let order = if fortran { Order::F } else { Order::C };
        let a = array(KINDS[kind], &shape, order, seed, specials);
        let ndim = shape.len() as i64;
        let axes = match axes_pick {
            0 => None,
            1 => Some(vec![0]),
            2 => Some(vec![ndim - 1]),
            _ => Some(if ndim >= 3 { vec![0, 2] } else { (0..ndim).collect() }),
        };
        let contexts = grid();
        let want = everything(&contexts[0], &a, &axes, keepdims);
        for ctx in &contexts[1..] {
            let got = everything(ctx, &a, &axes, keepdims);
            for (g, w) in got.iter().zip(&want) {
                prop_assert!(g == w, "threads {} chunk {}: {} != {}", ctx.threads(), ctx.chunk_bytes(),
                    &g[..g.len().min(300)], &w[..w.len().min(300)]);
            }
        }
    }
}

/// `stats`' sum, mean and std are `reduce sum`'s, `reduce mean`'s and `reduce std`'s, bit for bit
/// (NaN and infinite data included).
#[test]
fn stats_sum_mean_and_std_are_reduce_sum_mean_and_std() {
    for kind in [
        ScalarKind::F64,
        ScalarKind::F32,
        ScalarKind::F16,
        ScalarKind::I32,
    ] {
        let lens = [
            1,
            100,
            8191,
            BLOCK - 1,
            BLOCK,
            BLOCK + 1,
            3 * BLOCK + 4099,
            300_001,
        ];
        for (len, specials) in lens.into_iter().flat_map(|n| [(n, false), (n, true)]) {
            for threads in [1, 3] {
                let ctx = Context::builder()
                    .threads(threads)
                    .chunk_bytes(3 * 4096)
                    .build()
                    .unwrap();
                let a = array(kind, &[len], Order::C, len as u64 * 7 + 1, specials);
                let s = stats(&ctx, &a).unwrap();
                let sum = reduce_all(&ctx, &a, ReduceOp::Sum).unwrap();
                let mean = reduce_all(&ctx, &a, ReduceOp::Mean).unwrap();
                let std = reduce_all(&ctx, &a, ReduceOp::Std).unwrap();
                assert_eq!(
                    format!("{:?}", s.sum),
                    format!("{:?}", sum.value),
                    "{kind:?} {len}"
                );
                assert_eq!(
                    format!("{:?}", Value::Float(s.mean)),
                    format!("{:?}", mean.value),
                    "{kind:?} {len}"
                );
                assert_eq!(
                    format!("{:?}", Value::Float(s.std)),
                    format!("{:?}", std.value),
                    "{kind:?} {len}"
                );
            }
        }
    }
}
