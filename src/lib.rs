//! outcore: a chunked out-of-core compute engine for NumPy `.npy` arrays larger than RAM.
//!
//! This facade re-exports the engine (files, mappings, scheduler) and the kernels (casts,
//! generation, reductions…). The `outcore` binary (the `cli` feature, on by default) is built on
//! this API; `default-features = false` gives the library alone.
//!
//! ```no_run
//! use outcore::{Array, Context};
//! use outcore::kernels::reduce::{reduce_all, ReduceOp};
//!
//! let ctx = Context::builder().memory(256 << 20).build()?;
//! let a = Array::open("big.npy")?;
//! let total = reduce_all(&ctx, &a, ReduceOp::Sum)?;
//! println!("sum = {total}");
//! # Ok::<(), outcore::Error>(())
//! ```

pub use outcore_engine as engine;
pub use outcore_engine::*;
pub use outcore_kernels as kernels;
