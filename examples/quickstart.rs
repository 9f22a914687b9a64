//! Quickstart: generate an array larger than the memory budget, reduce it chunk-parallel, and
//! read a few values back through a typed view.
//!
//! cargo run --release --example quickstart [DIR]

use outcore::kernels::gen::{generate, Fill};
use outcore::kernels::reduce::{reduce_all, ReduceOp};
use outcore::{Array, Context, DType, Layout, Order, OutputOptions, ScalarKind};

fn main() -> Result<(), outcore::Error> {
    let dir = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join("outcore-quickstart.npy");
    // 64 MiB of float64 with an 8 MiB budget: the engine never holds more than a few chunks.
    let ctx = Context::builder().memory(8 << 20).build()?;
    let layout = Layout::new(DType::native(ScalarKind::F64), vec![8 << 20], Order::C)?;
    let opts = OutputOptions {
        force: true,
        ..Default::default()
    };
    generate(&ctx, &path, &layout, Fill::Normal, 42, &opts)?;

    let a = Array::open(&path)?;
    for op in [ReduceOp::Sum, ReduceOp::Min, ReduceOp::Max] {
        let r = reduce_all(&ctx, &a, op)?;
        println!("{:>4} = {} ({})", op.name(), r, r.dtype.str_code());
    }
    let first: Vec<f64> = a.as_slice::<f64>()?[..4].to_vec();
    println!("first values: {first:?}");
    std::fs::remove_file(&path)
        .map_err(|e| outcore::Error::io("cannot remove", e).with_path(&path))?;
    Ok(())
}
