//! outcore-kernels: algorithms over typed chunks handed out by the engine — casts, generation,
//! reductions, reshape-via-copy (and, as they land, map/eval and sort).
//!
//! Kernels contain no `libc`, no mapping code and no `unsafe`.

pub mod cast;
pub mod copy;
pub mod gen;
pub mod reduce;
pub mod sort;
