//! outcore-kernels: algorithms over typed chunks handed out by the engine — elementwise maps
//! and the expression language of `outcore eval`, reductions, sorting, copies.

pub mod expr;
pub mod map;
