//! Embedding outcore through its prelude alone: a single-input map, an index-aware map, a
//! two-input fold (a dot product of two files), a sort and a transpose, each checked against
//! a plain in-memory computation.
//!
//! cargo run --release --example embed [DIR]

use outcore::prelude::*;

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("outcore-embed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", e).with_path(&dir))?;
    let result = run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(dir: &std::path::Path) -> Result<()> {
    // A small budget, so that every job below runs out of core in many chunks.
    let ctx = Context::builder().memory(4 << 20).tmp_dir(dir).build()?;
    let opts = OutputOptions::default();
    let (rows, cols) = (500, 300);

    // Two inputs: x from the generator (a file), w in memory (one weight per column).
    let x_path = dir.join("x.npy");
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![rows, cols], Order::C)?;
    generate(&ctx, &x_path, &layout, Fill::Normal, 7, &opts)?;
    let x = Array::open(&x_path)?;
    let weights: Vec<f64> = (0..cols).map(|j| 1.0 / (1 + j) as f64).collect();
    let w = Array::from_vec(weights.clone(), &[cols])?;
    let xs = x.to_vec::<f64>()?;

    // 1. A single-input map: |x| into a new file.
    let abs_path = dir.join("abs.npy");
    map(&ctx, &typed::<f64>(&x)?, &abs_path, &opts, f64::abs)?;
    let abs = Array::open(&abs_path)?.to_vec::<f64>()?;
    assert!(abs.iter().zip(&xs).all(|(a, v)| *a == v.abs()));

    // 2. An index-aware map: each element's row number, from its flat C-order index.
    let row_path = dir.join("row.npy");
    map_indexed(&ctx, &typed::<f64>(&x)?, &row_path, &opts, |i, _| {
        (i / cols as u64) as i32
    })?;
    let row_of = Array::open(&row_path)?.to_vec::<i32>()?;
    assert_eq!(
        (row_of[0], row_of[cols], row_of[rows * cols - 1]),
        (0, 1, rows as i32 - 1)
    );

    // 3. A two-input fold: the weighted sum of x (w broadcast along the rows).
    let dot = fold(
        &ctx,
        (&typed::<f64>(&x)?, &typed::<f64>(&w)?),
        || 0.0,
        |acc, (a, b)| acc + a * b,
        |a, b| a + b,
    )?;
    let want: f64 = xs
        .iter()
        .enumerate()
        .map(|(i, v)| v * weights[i % cols])
        .sum();
    assert!((dot - want).abs() <= 1e-9 * want.abs().max(1.0));

    // 4. A sort of the flattened array (NaNs would go last, as in NumPy).
    let sorted_path = dir.join("sorted.npy");
    let sort_opts = SortOptions {
        flatten: true,
        ..SortOptions::default()
    };
    sort(&ctx, &x, &sorted_path, &sort_opts)?;
    let sorted = Array::open(&sorted_path)?.to_vec::<f64>()?;
    let mut expect = xs.clone();
    expect.sort_by(f64::total_cmp);
    assert_eq!(sorted, expect);

    // 5. A transpose (axes reversed) into a C-order file.
    let t_path = dir.join("t.npy");
    let t = transpose(&ctx, &x, None, &t_path, &opts)?;
    assert_eq!(t.shape(), [cols, rows]);
    let tv = t.to_vec::<f64>()?;
    assert_eq!(tv[3 * rows + 2], xs[2 * cols + 3]);

    let max = reduce_all(&ctx, &x, ReduceOp::Max)?.to_f64();
    println!(
        "x: {rows}x{cols} float64; max {max:.4}; weighted sum {dot:.4}; sorted, transposed: ok"
    );
    Ok(())
}
