#![warn(missing_docs)]
//! outcore-engine: the parts of outcore that know about files, memory and threads — dtypes,
//! the `.npy` format, memory-mapped arrays, output files, the chunk planner, the scheduler and
//! the memory budget. It knows nothing of particular kernels.
//!
//! All `unsafe` code of outcore lives in one private module (`sys`); the few OS helpers that
//! kernels and tools need are re-exported here: [`page_size`], [`large_buffer`],
//! [`prefetch_read`], [`prefetch_slice`], [`Advice`], [`cached_pages`], [`fadvise`].

pub mod array;
pub mod budget;
pub mod dtype;
pub mod element;
pub mod error;
pub mod layout;
pub mod npy;
pub mod output;
pub mod plan;
pub mod sched;
mod sys;

pub use array::{cast_or_copy, Array, Input, Mode, RawSpec};
pub use budget::{format_bytes, parse_bytes, Budget, Reservation};
pub use dtype::{ByteOrder, DType, Field, ScalarKind};
pub use element::{swap_in_place, Bool, Complex128, Complex64, Element};
pub use error::{Error, ErrorKind, Result, ResultExt};
pub use half::f16;
pub use layout::{strides_for, Layout, Order};
pub use output::{
    check_destination, Output, OutputCache, OutputFile, OutputHints, OutputOptions, OutputWriter,
    ScratchFile,
};
pub use sched::{CancelToken, ChunkIo, Context, ContextBuilder, Pattern, Progress, ReadRange};
pub use sys::{
    cached_pages, fadvise, large_buffer, page_size, prefetch_read, prefetch_slice, Advice,
    FileAdvice,
};
