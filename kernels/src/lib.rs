//! outcore-kernels: algorithms over typed chunks handed out by the engine — casts, generation,
//! elementwise maps and the expression language of `outcore eval`, reductions, the external
//! merge sort, and reshape-via-copy (transpose, reshape, slice, convert).
//!
//! Kernels contain no `libc`, no mapping code and no `unsafe`.

pub mod cast;
pub mod copy;
pub mod expr;
pub mod gen;
pub mod map;
pub mod reduce;
pub mod sort;
