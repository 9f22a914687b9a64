//! A custom kernel: a Rust closure mapped over two mapped files with NumPy broadcasting, then
//! a custom fold (identity, fold, combine) run in parallel over the result.
//!
//! cargo run --release --example user_kernel [DIR]

use outcore::kernels::gen::{generate, Fill};
use outcore::kernels::map::{map, typed};
use outcore::kernels::reduce::fold_all;
use outcore::{Array, Context, DType, Layout, Order, OutputOptions, ScalarKind};

fn main() -> Result<(), outcore::Error> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let (xs, ys, out) = (
        dir.join("uk-x.npy"),
        dir.join("uk-y.npy"),
        dir.join("uk-r.npy"),
    );
    let ctx = Context::builder().memory(16 << 20).build()?;
    let opts = OutputOptions {
        force: true,
        ..Default::default()
    };
    // x: a (1000, 4096) float64 matrix; y: one row of 4096 float32 offsets, broadcast to every row.
    let x_layout = Layout::new(DType::native(ScalarKind::F64), vec![1000, 4096], Order::C)?;
    let y_layout = Layout::new(DType::native(ScalarKind::F32), vec![4096], Order::C)?;
    generate(&ctx, &xs, &x_layout, Fill::Normal, 1, &opts)?;
    generate(&ctx, &ys, &y_layout, Fill::Random, 2, &opts)?;
    let (x, y) = (Array::open(&xs)?, Array::open(&ys)?);

    // The user kernel: any Rust closure of the elements, one call per broadcast element.
    map(
        &ctx,
        (&typed::<f64>(&x)?, &typed::<f32>(&y)?),
        &out,
        &opts,
        |(a, b)| (a - b as f64).abs().min(3.0),
    )?;
    let r = Array::open(&out)?;
    println!("wrote {} with shape {:?}", out.display(), r.shape());

    // A custom fold: a histogram of the clipped values in 6 bins, built per chunk in parallel
    // and merged.
    let hist = fold_all(
        &ctx,
        &r,
        || [0u64; 6],
        |mut h, v: f64| {
            h[((v * 2.0) as usize).min(5)] += 1;
            h
        },
        |mut a, b| {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
            a
        },
    )?;
    println!("histogram of |x - y| clipped at 3, bins of 0.5: {hist:?}");
    assert_eq!(hist.iter().sum::<u64>(), r.len() as u64);
    for p in [&xs, &ys, &out] {
        std::fs::remove_file(p).map_err(|e| outcore::Error::io("cannot remove", e).with_path(p))?;
    }
    Ok(())
}
