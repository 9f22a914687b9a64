#![warn(missing_docs)]
//! outcore-kernels: algorithms over typed chunks handed out by the engine — casts, generation,
//! elementwise maps and the expression language of `outcore eval`, reductions, the external
//! merge sort, and reshape-via-copy (transpose, reshape, slice, convert).
//!
//! Kernels contain no `libc`, no mapping code and no `unsafe`.

pub mod cast;
pub mod copy;
pub mod expr;
pub mod gather;
pub mod gen;
pub mod histogram;
pub mod map;
pub mod num;
pub mod quantile;
pub mod reduce;
pub mod scan;
pub mod sort;
pub mod unique;

pub use num::Num;

/// `values` in blocks of `block` elements, each handed out after the block `ahead` blocks
/// later has been prefetched (for loops that do much work per value; see
/// [`outcore_engine::prefetch_slice`]).
pub(crate) fn prefetched_blocks<T>(
    values: &[T],
    block: usize,
    ahead: usize,
) -> impl Iterator<Item = &[T]> {
    let mut later = values.chunks(block).skip(ahead);
    values.chunks(block).inspect(move |_| {
        if let Some(next) = later.next() {
            outcore_engine::prefetch_slice(next);
        }
    })
}

/// Test helpers shared by the kernels' unit tests.
#[cfg(test)]
pub(crate) mod testing {
    /// A small deterministic xorshift generator: test data without a dependency.
    pub fn xorshift() -> impl FnMut() -> u64 {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }
}
