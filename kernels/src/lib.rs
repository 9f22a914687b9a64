//! outcore-kernels: algorithms over typed chunks handed out by the engine — casts, generation,
//! reductions (and, as they land, map/eval, sort and reshape-via-copy).
//!
//! Kernels contain no `libc`, no mapping code and no `unsafe`.

pub mod cast;
pub mod gen;
pub mod reduce;
pub mod sort;
