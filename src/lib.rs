#![warn(missing_docs)]
//! outcore: a chunked out-of-core compute engine for NumPy `.npy` arrays larger than RAM.
//!
//! This facade re-exports the engine (files, mappings, scheduler) and the kernels (casts,
//! generation, reductions…). The `outcore` binary (the `cli` feature, on by default) is built on
//! this API; `default-features = false` gives the library alone.
//!
//! Everything a program needs is in the [`prelude`]:
//!
//! ```
//! use outcore::prelude::*;
//!
//! let ctx = Context::builder().memory(256 << 20).threads(2).build()?;
//! // Files are opened with `Array::open("big.npy")`; small arrays can live in memory.
//! let a = Array::from_vec((1..=1000).map(f64::from).collect(), &[10, 100])?;
//! let total = reduce_all(&ctx, &a, ReduceOp::Sum)?;
//! assert_eq!(total.to_f64(), 500_500.0);
//! let (squares, shape) = map_to_vec(&ctx, &typed::<f64>(&a)?, |x| x * x)?;
//! assert_eq!((squares[2], shape), (9.0, vec![10, 100]));
//! # Ok::<(), outcore::Error>(())
//! ```

pub use outcore_engine as engine;
pub use outcore_engine::*;
pub use outcore_kernels as kernels;

/// What a program that embeds outcore needs, in one import: `use outcore::prelude::*;`.
///
/// - Set-up: [`Context`] (threads, memory budget, chunk size, temporary
///   directory, cancellation, progress), [`Array`] (`.npy`, raw and in-memory
///   arrays), [`OutputOptions`].
/// - Closures over elements: [`map`](prelude::map) (one typed input or a tuple of up to four,
///   broadcast), [`map_indexed`](prelude::map_indexed), [`map_into`](prelude::map_into),
///   [`map_to_vec`](prelude::map_to_vec), [`fold`](prelude::fold) and
///   [`fold_indexed`](prelude::fold_indexed), [`fold_all`](prelude::fold_all).
/// - Built-in kernels: [`reduce_all`](prelude::reduce_all), [`reduce_axis`](prelude::reduce_axis),
///   [`stats`](prelude::stats), [`sort`](prelude::sort), [`argsort`](prelude::argsort),
///   [`transpose`](prelude::transpose), [`reshape`](prelude::reshape),
///   [`slice`](prelude::slice), [`convert`](prelude::convert), [`generate`](prelude::generate),
///   [`take`](prelude::take), [`mask`](prelude::mask), [`concat`](prelude::concat).
/// - Element types and errors: [`Element`], [`Num`](prelude::Num),
///   [`Error`], [`ErrorKind`].
pub mod prelude {
    pub use outcore_engine::{
        f16, Array, CancelToken, Context, ContextBuilder, DType, Element, Error, ErrorKind, Layout,
        Mode, Order, OutputCache, OutputOptions, Progress, RawSpec, Result, ScalarKind,
    };
    pub use outcore_kernels::copy::{
        convert, parse_index, reshape, slice, transpose, ConvertOptions,
    };
    pub use outcore_kernels::gather::{concat, mask, take};
    pub use outcore_kernels::gen::{generate, Fill};
    pub use outcore_kernels::histogram::{histogram, Histogram};
    pub use outcore_kernels::map::{
        fold, fold_indexed, map, map_indexed, map_into, map_to_vec, try_map, try_map_indexed, typed,
    };
    pub use outcore_kernels::quantile::{quantile, QuantileMethod, QuantileOptions, Quantiles};
    pub use outcore_kernels::reduce::{
        fold_all, reduce_all, reduce_axis, stats, AxisReduced, ReduceOp, Reduced, Stats, Value,
    };
    pub use outcore_kernels::sort::{argsort, sort, sort_into_range, SortOptions, SortStats};
    pub use outcore_kernels::unique::{unique, Unique, UniqueOptions};
    pub use outcore_kernels::Num;
}

/// The README's Rust example, compiled as a doc-test so that it stays in step with the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
