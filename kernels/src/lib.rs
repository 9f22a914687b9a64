//! outcore-kernels: algorithms over typed chunks handed out by the engine.

pub mod copy;
